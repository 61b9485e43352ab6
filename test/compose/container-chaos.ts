/**
 * Chaos for the compose test, as disruptors of the chaos run (bench/chaos/chaos-run.ts): `docker kill`
 * (SIGKILL) of a worker container every few seconds, left to Docker's restart policy to bring back
 * (compose.yml: `restart: unless-stopped`), or one `docker restart` of the broker.
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
    const [victim] = await this.project.running(service);
    if (victim === undefined) return;
    const kill: Kill = { at: Math.round((performance.now() - this.#started) / 100) / 10, worker: victim };
    this.kills.push(kill);
    const args = this.action === 'kill-worker' ? ['kill', victim] : ['restart', victim];
    this.log(`  t=${kill.at}s docker ${args.join(' ')}`);
    const result = await run('docker', args, { timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
    // A killed worker comes back by compose.yml's `restart: unless-stopped`, nobody else's doing.
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const state = await run('docker', ['inspect', '-f', '{{.State.Running}} {{.RestartCount}}', victim]);
      if (
        state.stdout.startsWith('true') &&
        (this.action === 'restart-broker' || !state.stdout.endsWith(' 0\n'))
      ) {
        const at = Math.round((performance.now() - this.#started) / 100) / 10;
        this.returns.push({ container: victim, at });
        kill.replacement = `${victim} again at t=${at}s`;
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
