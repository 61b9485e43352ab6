/**
 * `hostile`: the `mixed` scenario's users (the victims) run their normal mix twice, once alone (the
 * baseline) and once while one hostile caller attacks: it keeps `stalls` uploads open that send 100
 * bytes of a declared MiB and then nothing (re-opening each as soon as it is answered, after the
 * Retry-After it was given), and floods with `flood` connections of back-to-back requests. The result
 * compares the victims' latency with and without the attacker, and counts what the attacker got.
 *
 * Goal (docs/security/fairness.md): victims' p99 within 2× of the baseline, no 5xx for them; the
 * attacker gets 429 with Retry-After.
 */
import http from 'node:http';
import { removeUsers, signUp } from './accounts.ts';
import type { LoadArgs } from './args.ts';
import type { LoadSummary } from './recorder.ts';
import { type Bounds, runLoad, type ScenarioRun, type Tick } from './runner.ts';
import type { ScenarioContext } from './scenarios/common.ts';
import { mixedScenario } from './scenarios/mixed.ts';

export const DEFAULT_STALLS = 150;
export const DEFAULT_FLOOD = 16;

export interface HostileTally {
  /** Uploads opened that stalled (were accepted and then starved of bytes). */
  stallsOpened: number;
  /** Every answer the attacker got, by status (`network`: no answer). */
  statuses: Record<string, number>;
  /** 429 answers that carried a Retry-After. */
  withRetryAfter: number;
}

export interface HostileDetails {
  baseline: LoadSummary;
  attacked: LoadSummary;
  hostile: HostileTally & { stalls: number; flood: number };
  /** attacked p99 / baseline p99 of the victims. */
  p99Ratio: number;
  /** 5xx answers the victims got while attacked. */
  victim5xx: number;
}

/** One hostile caller: stalled uploads and a request flood, until stopped. */
class Attacker {
  readonly tally: HostileTally = { stallsOpened: 0, statuses: {}, withRetryAfter: 0 };
  #running = true;
  readonly #open = new Set<http.ClientRequest>();
  readonly #loops: Promise<void>[] = [];

  constructor(
    private readonly url: URL,
    private readonly name: string,
    private readonly token: string | undefined,
  ) {}

  #count(status: string, retryAfter: boolean) {
    this.tally.statuses[status] = (this.tally.statuses[status] ?? 0) + 1;
    if (status === '429' && retryAfter) this.tally.withRetryAfter++;
  }

  #auth(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  /** Opens one stalled upload; resolves with the Retry-After (s) when answered, or when stopped. */
  #stall(n: number): Promise<number> {
    return new Promise((resolve) => {
      const request = http.request({
        host: this.url.hostname,
        port: this.url.port,
        method: 'PUT',
        path: `/v1/users/${this.name}/files/stall/${n}.bin`,
        agent: false,
        headers: { ...this.#auth(), 'content-type': 'application/octet-stream', 'content-length': 1 << 20 },
      });
      this.#open.add(request);
      const done = (status: string, retryAfter: number) => {
        this.#open.delete(request);
        if (this.#running) this.#count(status, retryAfter > 0);
        resolve(retryAfter);
      };
      request.on('response', (res) => {
        res.resume();
        const retryAfter = Number(res.headers['retry-after'] ?? 0) || 0;
        res.on('end', () => done(String(res.statusCode), retryAfter));
        res.on('error', () => done('network', 0));
        request.destroy();
      });
      request.on('error', () => done('network', 0));
      request.write(Buffer.alloc(100));
      this.tally.stallsOpened++;
    });
  }

  start(stalls: number, flood: number): void {
    for (let i = 0; i < stalls; i++) {
      this.#loops.push(
        (async () => {
          for (let n = 0; this.#running; n++) {
            const retryAfter = await this.#stall(i * 1_000_000 + n);
            if (this.#running) await sleep(Math.max(100, retryAfter * 1000));
          }
        })(),
      );
    }
    for (let c = 0; c < flood; c++) {
      this.#loops.push(
        (async () => {
          while (this.#running) {
            try {
              const res = await fetch(new URL(`/v1/users/${this.name}/files/`, this.url), {
                headers: this.#auth(),
              });
              await res.arrayBuffer();
              if (this.#running) this.#count(String(res.status), res.headers.has('retry-after'));
            } catch {
              if (this.#running) this.#count('network', false);
            }
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const request of this.#open) request.destroy();
    await Promise.all(this.#loops);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const count5xx = (s: LoadSummary) =>
  Object.entries(s.statuses)
    .filter(([status]) => /^5\d\d$/.test(status))
    .reduce((n, [, k]) => n + k, 0);

/** Sets the victims up, runs the baseline half and the attacked half of the bounds, tears down. */
export async function runHostile(
  args: LoadArgs,
  ctx: ScenarioContext,
  onTick?: (tick: Tick) => void,
): Promise<{ summary: LoadSummary; notices: string[]; details: HostileDetails }> {
  const half: Bounds = {
    ...(args.duration === undefined ? {} : { duration: args.duration / 2 }),
    ...(args.requests === undefined ? {} : { requests: Math.max(1, Math.floor(args.requests / 2)) }),
  };
  const stalls = args.hostileStalls ?? DEFAULT_STALLS;
  const flood = args.hostileFlood ?? DEFAULT_FLOOD;
  const victims: ScenarioRun = await mixedScenario(ctx);
  const hostileUser = await signUp(args.url, `${ctx.prefix}-hostile`, {}, args.token);
  try {
    ctx.log(`baseline: the victims alone, ${describeBounds(half)}`);
    const baseline = await runLoad(victims, args.connections, half, onTick);
    ctx.log(`attacked: ${stalls} stalled uploads and ${flood} flooding connections of one caller`);
    const attacker = new Attacker(new URL(args.url), hostileUser.name, hostileUser.token);
    attacker.start(stalls, flood);
    await sleep(1000); // let the stalls take whatever they can before the victims measure
    let attacked: LoadSummary;
    try {
      attacked = await runLoad(victims, args.connections, half, onTick);
    } finally {
      await attacker.stop();
    }
    const p99Ratio =
      Math.round((attacked.latencyMs.p99 / Math.max(0.001, baseline.latencyMs.p99)) * 100) / 100;
    return {
      summary: attacked,
      notices: victims.notices,
      details: {
        baseline,
        attacked,
        hostile: { ...attacker.tally, stalls, flood },
        p99Ratio,
        victim5xx: count5xx(attacked),
      },
    };
  } finally {
    await victims.teardown();
    await removeUsers([hostileUser]);
  }
}

function describeBounds(b: Bounds): string {
  return [
    b.duration === undefined ? '' : `${b.duration} s`,
    b.requests === undefined ? '' : `${b.requests} requests`,
  ]
    .filter((s) => s !== '')
    .join(', ');
}

/** The comparison for people: victims with and without the attacker, and what the attacker got. */
export function renderHostile(d: HostileDetails): string {
  const row = (label: string, s: LoadSummary) =>
    `| ${label} | ${s.requests} | ${s.rps} | ${s.latencyMs.p50} | ${s.latencyMs.p99} | ${s.latencyMs.max} | ${count5xx(s)} | ${s.errors} |`;
  const statuses = Object.entries(d.hostile.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ×${n}`)
    .join(', ');
  return [
    '',
    'victims (the mixed scenario), without and with the hostile caller:',
    '| run | requests | req/s | p50 ms | p99 ms | max ms | 5xx | errors |',
    '|---|---|---|---|---|---|---|---|',
    row('baseline', d.baseline),
    row('attacked', d.attacked),
    `victims' p99 attacked / baseline: ${d.p99Ratio}× (goal ≤ 2×); victims' 5xx while attacked: ${d.victim5xx} (goal 0)`,
    `hostile caller: ${d.hostile.stalls} stalled uploads kept open, ${d.hostile.flood} flooding connections; ` +
      `${d.hostile.stallsOpened} uploads opened; answers ${statuses || 'none'}; ` +
      `429 ×${d.hostile.statuses['429'] ?? 0} (${d.hostile.withRetryAfter} with Retry-After)`,
  ].join('\n');
}
