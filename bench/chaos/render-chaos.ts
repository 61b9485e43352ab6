/** The chaos run's figures and verdict as text for a terminal. */
import type { ChaosResult } from './chaos-run.ts';

/** How the workers went, when the disruptor says (local workers: crashes and graceful leaves by turns). */
function stops(result: ChaosResult): string {
  const crashes = result.kills.filter((k) => k.signal === 'SIGKILL').length;
  const leaves = result.kills.filter((k) => k.signal === 'SIGTERM').length;
  return crashes + leaves === 0 ? '' : ` (${crashes} crashed: SIGKILL; ${leaves} left: SIGTERM)`;
}

export function renderChaos(result: ChaosResult): string {
  const { figures: f, load, verdict, settings: s } = result;
  const byStatus = Object.entries(f.failuresByStatus)
    .map(([status, n]) => `${status === '0' ? 'no answer' : status}: ${n}`)
    .join(', ');
  const lines = [
    `chaos run: ${s.seconds} s, ${s.connections} connections, ${s.workers} workers, one stopped every ${s.killEveryS} s (seed ${s.seed})`,
    `  workers stopped and replaced   ${f.kills}${stops(result)}`,
    `  requests                       ${f.requests} (${load.rps} req/s; p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, max ${load.latencyMs.max} ms)`,
    `  failed                         ${f.failures}${byStatus ? ` (${byStatus})` : ''}`,
    `  error rate                     ${(f.errorRate * 100).toFixed(3)} % (limit ${(s.maxErrorRate * 100).toFixed(3)} %)`,
    `  failures not 503+Retry-After   ${f.otherFailures}`,
    `  idempotent requests failed     ${f.idempotentFailures}`,
    `  writes read back intact        ${f.readBack.intact} of ${f.readBack.checked}`,
    `  wrong reads during the load    ${f.wrongReadsDuringLoad}`,
    ...Object.entries(f.transfers).map(
      ([op, t]) =>
        `  ${`${op} (large)`.padEnd(30)} ${t.succeeded} of ${t.ran} succeeded, ${t.mib} MiB, longest ${t.longestS} s; ${t.duringKills} under way at a kill${op === 'resumable' ? `, ${t.retried} retried a request` : ''}`,
    ),
    ...(f.abandoned === undefined
      ? []
      : [
          `  abandoned uploads              ${f.abandoned.uploads}: ${f.abandoned.objectsBefore} objects stored, ${f.abandoned.objectsLeft} left ${f.abandoned.unchecked ?? `${f.abandoned.goneAfterExpiryS} s after their expiry`}`,
        ]),
    verdict.pass ? 'PASS' : `FAIL\n${verdict.broken.map((b) => `  - ${b}`).join('\n')}`,
  ];
  for (const failure of result.failures.slice(0, 10)) {
    lines.push(
      `  failure at ${failure.at.toFixed(1)} s: ${failure.op} → ${failure.status || 'no answer'}${failure.detail ? ` ${failure.detail.slice(0, 160)}` : ''}`,
    );
  }
  return lines.join('\n');
}
