/**
 * The chaos: every `everyMs`, stop the longest-running live worker of the stack, and start a
 * replacement `restartDelayMs` later, as a supervisor (compose's restart policy) would. The stops take
 * turns: a crash (SIGKILL: its commands are lost mid-flight, the broker finds out when its heartbeats
 * stop or a send fails) and a graceful leave (SIGTERM: it says DISCONNECT, finishes what it has, takes
 * nothing new). Either way the replacement is a new worker: the pods whose home was the one that went
 * move to the others, and some move again to the one that joins (decision 0007).
 */
import type { LocalStack, ManagedProcess } from '../../deploy/local/stack.ts';
import type { ChaosStorage, ChaosTarget } from './chaos-run.ts';

export interface Kill {
  /** Seconds since the killer started. */
  at: number;
  worker: string;
  /** SIGKILL: a crash; SIGTERM: a graceful leave (local workers; the compose test says in its log). */
  signal?: 'SIGKILL' | 'SIGTERM';
  replacement?: string;
}

const alive = (p: ManagedProcess) => p.child.exitCode === null && p.child.signalCode === null;

/**
 * A chaos target of the local stack: SIGKILLs its workers; recovered once all are registered again;
 * `storage` (minio-storage.ts), if given, lists its object store.
 */
export function localChaosTarget(
  stack: LocalStack,
  options: { workers: number; killEveryS: number; restartDelayMs: number },
  log: (line: string) => void,
  storage?: ChaosStorage,
): ChaosTarget & { disruptor: WorkerKiller } {
  return {
    apiUrl: stack.apiUrl,
    disruptor: new WorkerKiller(stack, options.killEveryS * 1000, options.restartDelayMs, log),
    recovered: () => stack.waitReady(options.workers, 60_000),
    ...(storage === undefined ? {} : { storage }),
  };
}

export class WorkerKiller {
  readonly kills: Kill[] = [];
  #timer: NodeJS.Timeout | undefined;
  #restarts: Promise<void>[] = [];
  #started = 0;

  constructor(
    private readonly stack: LocalStack,
    private readonly everyMs: number,
    private readonly restartDelayMs: number,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.#started = performance.now();
    this.#timer = setInterval(() => this.#killOne(), this.everyMs);
  }

  /** Stops killing and waits for the replacements already under way. */
  async stop(): Promise<Kill[]> {
    clearInterval(this.#timer);
    await Promise.all(this.#restarts);
    return this.kills;
  }

  #killOne(): void {
    const victim = this.stack.workers.find(alive);
    if (victim === undefined) return;
    const signal = this.kills.length % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
    const kill: Kill = {
      at: Math.round((performance.now() - this.#started) / 100) / 10,
      worker: victim.name,
      signal,
    };
    this.kills.push(kill);
    this.stack.stopWorker(victim, signal);
    this.log(`  t=${kill.at}s ${signal} ${victim.name}`);
    this.#restarts.push(
      (async () => {
        await victim.exited;
        await new Promise((r) => setTimeout(r, this.restartDelayMs));
        kill.replacement = this.stack.addWorker().name;
      })(),
    );
  }
}
