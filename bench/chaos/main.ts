/**
 * `npm run chaos [-- --seconds 60 --workers 3 --kill-every 5 --connections 12 --seed 1 --abandon 3
 * --upload-expiry-s 60 --json-out F]`
 *
 * The worker-death acceptance run, on loopback: real MinIO and nats-server, the local runner (broker,
 * workers, api as processes, default settings but for the uploads' expiry), a mixed load for `--seconds`
 * with large transfers (resumable uploads of 8–16 MiB, long downloads of 32 MiB), and every
 * `--kill-every` seconds one worker SIGKILLed and restarted. `--abandon` resumable uploads are left
 * half-sent; they expire after `--upload-expiry-s` (swept every second), and nothing of them may be left
 * in MinIO at the end. Prints the figures and the verdict (every acknowledged write read back intact,
 * no idempotent request failed, every failure a 503 with Retry-After, error rate under 0.1 %, each kind
 * of large transfer ran, the abandoned uploads gone), writes them as JSON to
 * bench/results/chaos-<date>.json, and exits 1 if a rule is broken.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../deploy/local/free-port.ts';
import { provisionBinaries as provision } from '../../deploy/local/provision-binaries.ts';
import { minioEnv, startMinio, startNats } from '../../deploy/local/servers.ts';
import { LocalStack } from '../../deploy/local/stack.ts';
import { machineInfo } from '../machine.ts';
import { LARGE_TRANSFERS } from './chaos-mix.ts';
import { chaosRun } from './chaos-run.ts';
import { minioStorage } from './minio-storage.ts';
import { renderChaos } from './render-chaos.ts';
import { localChaosTarget } from './worker-killer.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    workers: { type: 'string', default: '3' },
    'kill-every': { type: 'string', default: '5' },
    'restart-delay-ms': { type: 'string', default: '500' },
    connections: { type: 'string', default: '12' },
    seed: { type: 'string', default: '1' },
    'max-error-rate': { type: 'string', default: '0.001' },
    abandon: { type: 'string', default: '3' },
    'upload-expiry-s': { type: 'string', default: '60' },
    'json-out': { type: 'string' },
  },
});
const number = (name: keyof typeof values, min: number, max: number): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min || n > max) {
    log(`--${name} must be a number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
};
const settings = {
  seconds: number('seconds', 1, 600),
  workers: number('workers', 2, 16),
  killEveryS: number('kill-every', 1, 600),
  restartDelayMs: number('restart-delay-ms', 0, 60_000),
  connections: number('connections', 1, 256),
  seed: number('seed', 0, 2 ** 31),
  maxErrorRate: number('max-error-rate', 0, 1),
  abandonUploads: number('abandon', 0, 6),
};
const uploadExpiryS = number('upload-expiry-s', 5, 300);

await provision();
const minio = await startMinio();
const nats = await startNats({ jetstream: true });
const stack = new LocalStack({
  workers: settings.workers,
  host: '127.0.0.1',
  apiPort: await freePort(),
  frontendPort: await freePort(),
  backendPort: await freePort(),
  brokerMetricsPort: 0,
  workerMetricsBasePort: 0,
  env: {
    ...minioEnv(minio, 'chaos'),
    // Pods' homes answer from memory a second after a start or a lost worker (the default waits two
    // minutes): the workers joining and leaving here must not make any of those reads stale.
    BROKER_PLACEMENT_QUIET_MS: '1000',
    // Read leases on (decision 0009; off by default): apis keep owners' reads while pods move.
    BROKER_READ_LEASE_MS: '1000',
    UPLOAD_EXPIRY_S: String(uploadExpiryS),
    UPLOAD_SWEEP_MS: '1000',
    // Each connection may have an upload open, besides the abandoned ones.
    UPLOADS_PER_CALLER: String(settings.connections + settings.abandonUploads + 8),
    NATS_URL: nats.url,
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
  },
  stdio: 'pipe',
});
let exitCode = 1;
try {
  await stack.start(60_000);
  const target = localChaosTarget(stack, settings, log, minioStorage(minio, 'chaos'));
  const result = await chaosRun({ target, ...settings, large: LARGE_TRANSFERS, log });
  const machine = machineInfo();
  process.stdout.write(`${renderChaos(result)}\n`);
  const startedAt = new Date().toISOString();
  const file =
    values['json-out'] ??
    fileURLToPath(new URL(`../results/chaos-${startedAt.replace(/[:.]/g, '-')}.json`, import.meta.url));
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify({ startedAt, machine, ...result }, null, 2)}\n`);
  log(`wrote ${file}`);
  exitCode = result.verdict.pass ? 0 : 1;
} catch (error) {
  log(`chaos run failed: ${(error as Error).stack ?? error}`);
} finally {
  await stack.stop('SIGKILL');
  await nats.stop();
  await minio.stop();
}
process.exit(exitCode);
