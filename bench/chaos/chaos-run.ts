/**
 * One chaos run against a running stack: a bounded mixed load (chaos-mix.ts) while a disruptor breaks
 * parts of it (worker-killer.ts SIGKILLs local workers; the compose test kills containers); then, with
 * every part back, every acknowledged write is read back and checked against the ledger, and the
 * figures are judged (chaos-tally.ts).
 */
import { signUp } from '../load/accounts.ts';
import type { LoadSummary } from '../load/recorder.ts';
import { runLoad } from '../load/runner.ts';
import { chaosMix, sha256 } from './chaos-mix.ts';
import {
  type ChaosFigures,
  ChaosTally,
  figuresOf,
  type ReadBack,
  type Verdict,
  verdictOf,
} from './chaos-tally.ts';
import type { Kill } from './worker-killer.ts';
import { ABSENT, WriteLedger } from './write-ledger.ts';

/** What breaks the stack while the load runs: `start` begins, `stop` ends and waits for replacements. */
export interface Disruptor {
  readonly kills: Kill[];
  start(): void;
  stop(): Promise<Kill[]>;
}

/** The stack under test: where to send the load, what breaks it, and how to know it has recovered. */
export interface ChaosTarget {
  apiUrl: string;
  disruptor: Disruptor;
  /** Resolves once every part is back (every worker registered), before the read-back. */
  recovered(): Promise<void>;
}

export interface ChaosOptions {
  target: ChaosTarget;
  workers: number;
  seconds: number;
  connections: number;
  killEveryS: number;
  restartDelayMs: number;
  seed: number;
  maxErrorRate: number;
  log: (line: string) => void;
}

export interface ChaosResult {
  settings: Omit<ChaosOptions, 'target' | 'log'>;
  figures: ChaosFigures;
  verdict: Verdict;
  load: LoadSummary;
  kills: Kill[];
  failures: ChaosTally['failures'];
  wrongReads: ReadBack['wrong'];
}

export async function chaosRun(options: ChaosOptions): Promise<ChaosResult> {
  const { target, log } = options;
  const owner = await signUp(target.apiUrl, `chaos-${options.seed}-${Date.now().toString(36)}`, {});
  const token = owner.token as string;
  const tally = new ChaosTally();
  const ledger = new WriteLedger();
  let started = performance.now();
  const mix = chaosMix({
    apiUrl: target.apiUrl,
    owner: owner.name,
    token,
    seed: options.seed,
    startedAt: () => started,
    tally,
    ledger,
  });
  const killer = target.disruptor;
  log(
    `chaos: ${options.seconds} s of mixed load, ${options.connections} connections, ${options.workers} workers, one SIGKILLed every ${options.killEveryS} s`,
  );
  started = performance.now();
  killer.start();
  let load: LoadSummary;
  try {
    load = await runLoad(mix, options.connections, { duration: options.seconds });
  } finally {
    await killer.stop();
  }
  await target.recovered();
  log(`load over: ${load.requests} requests; reading back every acknowledged write`);
  const readBack = await readEverythingBack(target.apiUrl, owner.name, token, ledger);
  const figures = figuresOf(
    tally,
    readBack,
    killer.kills.map((k) => k.at),
    options.killEveryS,
  );
  const verdict = verdictOf(figures, {
    maxErrorRate: options.maxErrorRate,
    minKills: Math.max(1, Math.floor(options.seconds / options.killEveryS) - 1),
  });
  const { target: _target, log: _log, ...settings } = options;
  return {
    settings,
    figures,
    verdict,
    load,
    kills: killer.kills,
    failures: tally.failures,
    wrongReads: [...tally.wrongReads, ...readBack.wrong],
  };
}

/** Reads every path of the ledger and every created file; each must hold what the ledger allows. */
async function readEverythingBack(
  apiUrl: string,
  owner: string,
  token: string,
  ledger: WriteLedger,
): Promise<ReadBack> {
  const headers = { authorization: `Bearer ${token}` };
  const read = async (url: string): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status === 200) return sha256(body);
      if (res.status === 404) return ABSENT;
      if (attempt >= 5) return `status ${res.status}`;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const result: ReadBack = { checked: 0, intact: 0, wrong: [] };
  for (const path of ledger.paths) {
    const check = ledger.check(path, await read(`${apiUrl}/v1/users/${owner}/files/${path}`));
    result.checked++;
    if (check.ok) result.intact++;
    else result.wrong.push(check);
  }
  for (const created of ledger.created) {
    const url = created.location.startsWith('/') ? `${apiUrl}${created.location}` : created.location;
    const found = await read(url);
    result.checked++;
    if (found === created.sha256) result.intact++;
    else result.wrong.push({ path: created.location, found, allowed: [created.sha256] });
  }
  return result;
}
