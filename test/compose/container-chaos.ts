/**
 * Chaos for the compose test, as disruptors of the chaos run (bench/chaos/chaos-run.ts): every few
 * seconds a worker dies of SIGKILL, in turn by a crash of its process (Docker's restart policy brings
 * the container back) and by `docker kill` (which restart policies respect: the operator starts it
 * again); or one `docker restart` of the broker.
 */
import type { Disruptor } from '../../bench/chaos/chaos-run.ts';
import type { Kill } from '../../bench/chaos/worker-killer.ts';
import { type ComposeProject, run } from './compose-project.ts';

export class ContainerChaos implements Disruptor {
  readonly kills: Kill[] = [];
  /** When each struck container was running again (seconds since the start), by Docker's own doing. */
  readonly returns: { container: string; at: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #pending: Promise<void>[] = [];
  #started = 0;

  constructor(
    private readonly project: ComposeProject,
    private readonly action: 'kill-worker' | 'restart-broker',
    private readonly everyMs: number,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.#started = performance.now();
    this.#timer = setInterval(() => this.#pending.push(this.#strike()), this.everyMs);
  }

  async stop(): Promise<Kill[]> {
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
    return this.kills;
  }

  async #strike(): Promise<void> {
    if (this.action === 'restart-broker' && this.kills.length > 0) return;
    const service = this.action === 'kill-worker' ? 'worker' : 'broker';
    // Each strike takes the next container in turn, so that every worker dies once.
    const running = await this.project.running(service);
    const victim = running[this.kills.length % Math.max(1, running.length)];
    if (victim === undefined) return;
    const at = () => Math.round((performance.now() - this.#started) / 100) / 10;
    const kill: Kill = { at: at(), worker: victim };
    const restarts = await restartCount(victim);
    this.kills.push(kill);
    if (this.action === 'restart-broker') {
      this.log(`  t=${kill.at}s docker restart ${victim}`);
      await docker(['restart', victim]);
    } else if (this.kills.length % 2 === 1) {
      // A crash: the worker process dies of SIGKILL (as by the kernel's OOM killer); compose.yml's
      // `restart: unless-stopped` must bring the container back, nobody else.
      const top = await docker(['top', victim, '-eo', 'pid,comm']);
      const pid = top.split('\n').find((line) => line.trim().endsWith(' node'));
      if (pid === undefined) throw new Error(`no node process in ${victim}:\n${top}`);
      this.log(`  t=${kill.at}s SIGKILL to ${victim}'s node process (a crash)`);
      process.kill(Number.parseInt(pid.trim(), 10), 'SIGKILL');
      await this.#waitRunning(victim, () => restartCount(victim).then((n) => n > restarts));
    } else {
      // `docker kill`: an operator's act, which restart policies respect; the operator starts it again.
      this.log(`  t=${kill.at}s docker kill ${victim}, then docker start`);
      await docker(['kill', victim]);
      await new Promise((r) => setTimeout(r, 300));
      await docker(['start', victim]);
    }
    await this.#waitRunning(victim, async () => true);
    const back = at();
    this.returns.push({ container: victim, at: back });
    kill.replacement = `${victim} running again at t=${back}s`;
  }

  async #waitRunning(container: string, also: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const state = await run('docker', ['inspect', '-f', '{{.State.Running}}', container]);
      if (state.stdout.trim() === 'true' && (await also())) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${container} was not running again within 30 s`);
  }
}

async function docker(args: string[]): Promise<string> {
  const result = await run('docker', args, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function restartCount(container: string): Promise<number> {
  return Number.parseInt(await docker(['inspect', '-f', '{{.RestartCount}}', container]), 10);
}
