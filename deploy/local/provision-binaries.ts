/**
 * Provides the MinIO and nats-server binaries that servers.ts starts: runs deploy/provision.sh (which
 * builds or finds them) and exports MINIO_BIN and NATS_BIN into process.env, so child processes started
 * afterwards inherit them. Used by the integration tests' global setup and by the benchmarks. If
 * provisioning fails, it rejects with the script's message.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function runProvision(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(root, 'deploy/provision.sh')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk); // a first build takes minutes: show progress
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`deploy/provision.sh failed (exit ${code}):\n${stderr.trim()}`));
    });
  });
}

export async function provisionBinaries(): Promise<void> {
  const stdout = await runProvision();
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(MINIO_BIN|NATS_BIN)=(.+)$/.exec(line.trim());
    if (match?.[1] && match[2]) values.set(match[1], match[2]);
  }
  for (const name of ['MINIO_BIN', 'NATS_BIN']) {
    const value = values.get(name);
    if (value === undefined)
      throw new Error(`deploy/provision.sh printed no ${name}= line. Output:\n${stdout}`);
    process.env[name] = value;
  }
}
