/** Text for people: the summary table of a load run and the live progress line. Pure functions. */
import type { LoadSummary } from './recorder.ts';
import type { Tick } from './runner.ts';

export interface RunInfo {
  scenario: string;
  url: string;
  connections: number;
  notices: string[];
}

const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ×${n}`)
    .join(', ') || 'none';

export function renderSummary(info: RunInfo, s: LoadSummary): string {
  const lines = [
    `podstore load: ${info.scenario} against ${info.url}, ${info.connections} connections, ${s.seconds} s`,
    ...info.notices.map((notice) => `notice: ${notice}`),
    `requests   ${s.requests} (${s.rps} req/s)${s.bytes > 0 ? `, ${s.mibPerSecond} MiB/s` : ''}`,
    `latency    p50 ${s.latencyMs.p50} ms  p90 ${s.latencyMs.p90} ms  p99 ${s.latencyMs.p99} ms  max ${s.latencyMs.max} ms`,
    `statuses   ${counts(s.statuses)}`,
    `errors     ${s.errors}${s.errors > 0 ? ` (${counts(s.errorsByStatus)})` : ''}`,
    '',
    '| operation | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...Object.entries(s.ops).map(
      ([name, o]) =>
        `| ${name} | ${o.requests} | ${o.rps} | ${o.p50} | ${o.p90} | ${o.p99} | ${o.max} | ${o.errors} |`,
    ),
  ];
  return lines.join('\n');
}

/** One line: where the run is, how fast it goes, how many failed. */
export function progressLine(t: Tick): string {
  const bound = [
    t.duration === undefined ? undefined : `${t.elapsed.toFixed(1)}/${t.duration} s`,
    t.limit === undefined ? undefined : `${t.requests}/${t.limit} req`,
  ]
    .filter((part) => part !== undefined)
    .join(', ');
  return `[${bound}] ${t.requests} requests, ${Math.round(t.rps)} req/s, p99 ${t.p99} ms, ${t.errors} errors`;
}
