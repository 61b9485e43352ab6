/**
 * The compose test's handle on one Docker Compose project started from the repository's own compose.yml:
 * `docker compose -p <name> ...` with the project's environment, the containers of a service, and a
 * command run inside a container (to look at a worker's own metrics, or to try to reach another tier).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(
  file: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: repoRoot,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}

export interface PsEntry {
  ID: string;
  Name: string;
  Service: string;
  State: string;
  Health: string;
  Image: string;
  Publishers: { URL: string; TargetPort: number; PublishedPort: number; Protocol: string }[] | null;
}

export class ComposeProject {
  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** `docker compose -p <name> <args>`; throws with the output when it exits non-zero. */
  async compose(args: string[], timeoutMs = 120_000): Promise<string> {
    const result = await this.tryCompose(args, timeoutMs);
    if (result.code !== 0)
      throw new Error(
        `docker compose ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-3000)}\n${await this.health()}`,
      );
    return result.stdout;
  }

  /** Each container's state and its last health checks: why `--wait` gave up, when it does. */
  async health(): Promise<string> {
    const names = await run('docker', [
      'ps',
      '--all',
      '--filter',
      `label=com.docker.compose.project=${this.name}`,
      '--format',
      '{{.Names}}',
    ]);
    const lines: string[] = [];
    for (const name of names.stdout.split('\n').filter(Boolean)) {
      const state = await run('docker', [
        'inspect',
        '-f',
        '{{.Name}} {{.State.Status}} restarts={{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}} {{range .State.Health.Log}}[{{.ExitCode}} {{.Output}}] {{end}}{{end}}',
        name,
      ]);
      lines.push(state.stdout.trim().replace(/\s+/g, ' ').slice(0, 1500));
    }
    return lines.join('\n');
  }

  /**
   * `docker compose down [args]`: every container of the project removed, then its networks (and, with
   * `--volumes`, its volumes).
   *
   * Docker Engine 20.10 sometimes keeps a stale endpoint on a network after every container on it is
   * gone (moby/moby#42119): removing the network then fails with "has active endpoints" although
   * `docker network inspect` lists no container, until the daemon restarts. That is the engine's
   * bookkeeping, not the project's; `down` then checks that nothing of the project is left running or
   * attached, retries the removal for a while, and if the engine still refuses, leaves that empty
   * network for the next `up` to reuse (compose adopts a network that carries the project's labels)
   * and says so in the log. Any other failure throws.
   */
  async down(args: string[] = [], timeoutMs = 180_000): Promise<void> {
    const result = await this.tryCompose(['down', ...args], timeoutMs);
    if (result.code === 0) return;
    const stuck = [...result.stderr.matchAll(/failed to remove network (\S+): .*has active endpoints/g)].map(
      (m) => m[1] as string,
    );
    const failure = () =>
      new Error(
        `docker compose down ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-3000)}`,
      );
    if (stuck.length === 0) throw failure();
    const label = `label=com.docker.compose.project=${this.name}`;
    const containers = await run('docker', ['ps', '--all', '--quiet', '--filter', label]);
    if (containers.stdout.trim() !== '') throw failure();
    const networks = await run('docker', [
      'network',
      'ls',
      '--quiet',
      '--format',
      '{{.Name}}',
      '--filter',
      label,
    ]);
    for (const network of networks.stdout.split('\n').filter(Boolean)) {
      const attached = await run('docker', ['network', 'inspect', '-f', '{{len .Containers}}', network]);
      if (attached.stdout.trim() !== '0') throw failure();
      let removed = false;
      for (let attempt = 0; attempt < 10 && !removed; attempt++) {
        removed = (await run('docker', ['network', 'rm', network])).code === 0;
        if (!removed) await new Promise((r) => setTimeout(r, 1000));
      }
      if (!removed)
        this.log(
          `  the engine keeps a stale endpoint on ${network} (no container attached); left for the next up`,
        );
    }
    if (args.includes('--volumes') || args.includes('-v')) {
      const volumes = await run('docker', ['volume', 'ls', '--quiet', '--filter', label]);
      for (const volume of volumes.stdout.split('\n').filter(Boolean)) {
        const removed = await run('docker', ['volume', 'rm', volume]);
        if (removed.code !== 0) throw new Error(`docker volume rm ${volume}: ${removed.stderr}`);
      }
    }
  }

  tryCompose(args: string[], timeoutMs = 120_000): Promise<Run> {
    this.log(`$ docker compose ${args.join(' ')}`);
    return run('docker', ['compose', '-p', this.name, ...args], { env: this.env, timeoutMs });
  }

  /** Every container of the project (stopped ones too with `all`). */
  async ps(all = false): Promise<PsEntry[]> {
    const out = await this.compose(['ps', '--format', 'json', ...(all ? ['--all'] : [])]);
    const text = out.trim();
    if (text === '') return [];
    // compose prints one JSON object per line (older versions: one array).
    return text.startsWith('[')
      ? (JSON.parse(text) as PsEntry[])
      : text.split('\n').map((line) => JSON.parse(line) as PsEntry);
  }

  /** Names of the running containers of `service`, sorted. */
  async running(service: string): Promise<string[]> {
    return (await this.ps())
      .filter((c) => c.Service === service && c.State === 'running')
      .map((c) => c.Name)
      .sort();
  }

  /** Runs `args` inside `container`. */
  exec(container: string, args: string[], timeoutMs = 30_000): Promise<Run> {
    return run('docker', ['exec', container, ...args], { timeoutMs });
  }

  /** Runs a Node.js script inside a podstore container (they all have node). */
  node(container: string, script: string, timeoutMs = 30_000): Promise<Run> {
    return this.exec(container, ['node', '--input-type=module', '-e', script], timeoutMs);
  }

  /** The last lines of every service's log, for a failed run's report. */
  async logs(tail = 300): Promise<string> {
    const result = await this.tryCompose(['logs', '--no-color', '--timestamps', '--tail', String(tail)]);
    return result.stdout + result.stderr;
  }
}

/** The sum of a Prometheus counter's samples in a metrics text, optionally only those `where` accepts. */
export function counterSum(metrics: string, name: string, where: (labels: string) => boolean = () => true) {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match === null || match[1] !== name || !where(match[2] ?? '')) continue;
    sum += Number(match[3]);
  }
  return sum;
}
