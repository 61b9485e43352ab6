/** The benchmark's table: each full-stack figure beside its direct-to-MinIO baseline, with the ratio. */
import type { LoadResult } from './closed-loop.ts';
import type { TransferResult } from './scenarios/large-transfer.ts';

export interface Report {
  machine: { cores: number; cpu: string; memoryGiB: number };
  settings: { workers: number; connections: number; seconds: number; largeMiB: number };
  small: Record<string, LoadResult>;
  large: Record<string, TransferResult>;
  rss: { api?: number; broker?: number; workers: (number | undefined)[] };
}

export function renderReport(r: Report): string {
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${(a / b).toFixed(2)}×` : 'n/a');
  const ops = (label: string, key: string) => {
    const stack = r.small[`${key}Stack`];
    const direct = r.small[`${key}Direct`];
    return `| ${label} | ${stack?.rps} | ${stack?.p50} / ${stack?.p99} | ${stack?.errors} | ${direct?.rps} | ${direct?.p50} / ${direct?.p99} | ${ratio(stack?.rps, direct?.rps)} |`;
  };
  const transfer = (label: string, key: string) => {
    const stack = r.large[`${key}Stack`];
    const direct = r.large[`${key}Direct`];
    return `| ${label} | ${stack?.mibPerSecond} MiB/s | ${stack?.seconds} s | ${direct?.mibPerSecond} MiB/s | ${direct?.seconds} s | ${ratio(stack?.mibPerSecond, direct?.mibPerSecond)} |`;
  };
  return [
    `podstore bench: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB; ` +
      `${r.settings.workers} workers, ${r.settings.connections} connections, ${r.settings.seconds} s per run; all on this machine`,
    '',
    '| operation | stack req/s | stack p50 / p99 ms | errors | direct req/s | direct p50 / p99 ms | stack / direct |',
    '|---|---|---|---|---|---|---|',
    ops('profile GET', 'profileGet'),
    ops('profile PUT', 'profilePut'),
    ops('4 KiB file GET', 'fileGet'),
    ops('4 KiB file PUT', 'filePut'),
    '',
    `| ${r.settings.largeMiB} MiB transfer | stack | stack time | direct | direct time | stack / direct |`,
    '|---|---|---|---|---|---|',
    transfer('upload', 'upload'),
    transfer('download', 'download'),
    '',
    `peak RSS: api ${r.rss.api} MiB, broker ${r.rss.broker} MiB, workers ${r.rss.workers.join(' / ')} MiB`,
  ].join('\n');
}
