/**
 * The chaos: every `everyMs`, SIGKILL the longest-running live worker of the stack, and start a
 * replacement `restartDelayMs` later, as a supervisor (compose's restart policy) would.
 */
import type { LocalStack, ManagedProcess } from '../../deploy/local/stack.ts';
import type { ChaosStorage, ChaosTarget } from './chaos-run.ts';

export interface Kill {
  /** Seconds since the killer started. */
  at: number;
  worker: string;
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
    const kill: Kill = {
      at: Math.round((performance.now() - this.#started) / 100) / 10,
      worker: victim.name,
    };
    this.kills.push(kill);
    victim.child.kill('SIGKILL');
    this.log(`  t=${kill.at}s SIGKILL ${victim.name}`);
    this.#restarts.push(
      (async () => {
        await victim.exited;
        await new Promise((r) => setTimeout(r, this.restartDelayMs));
        kill.replacement = this.stack.addWorker().name;
      })(),
    );
  }
}
