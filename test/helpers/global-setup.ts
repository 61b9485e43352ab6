/**
 * Vitest global setup: runs deploy/provision.sh once per run and exports MINIO_BIN and NATS_BIN to
 * the test workers (forked after this runs, they inherit process.env). If provisioning fails the
 * whole run fails with the script's message; tests are never skipped for want of a binary.
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

export default async function setup(): Promise<void> {
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
