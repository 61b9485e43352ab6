/**
 * Starts one more api process (`node --import tsx api/main.ts`) next to a test stack, as a second
 * replica: its own port, the stack's broker, whatever else `env` says. Resolves once /readyz is 200.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../deploy/local/free-port.ts';
import { spawnTied } from '../../deploy/local/tied-spawn.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  lines: string[];
  /** SIGTERM; resolves to the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
}

export async function startApiProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawnTied(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_PRETTY: 'false', API_HOST: '127.0.0.1', API_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = once(child, 'exit').then(([code]) => {
    process.off('exit', kill);
    return code as number | null;
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      lines.push(...chunk.split('\n').filter((l) => l !== ''));
      if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
    });
  }
  const api: ApiProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(kill, 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`api exited with ${child.exitCode}:\n${lines.slice(-20).join('\n')}`);
    const ready = await fetch(`${api.url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return api;
    await new Promise((r) => setTimeout(r, 100));
  }
  await api.stop();
  throw new Error(`second api not ready after ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`);
}
