/**
 * `npm run load` against a small real stack (broker, 2 workers, api as processes; filesystem storage;
 * BENCH_ROUTES on): each scenario runs for about 2 s through the command line and its JSON result shows
 * requests and no 5xx. The mixed scenario's grants must be applied here, never skipped.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/load/load-run.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-load-'));
  stack = await startTestStack({
    workers: 2,
    env: { DATA_DIR: join(dir, 'data'), BENCH_ROUTES: 'true', LOG_LEVEL: 'warn' },
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `npm run load` (its script, directly) and resolves to the JSON result it wrote. */
function load(scenario: string, extra: string[]): Promise<{ result: LoadResult; stdout: string }> {
  const out = join(dir, `${scenario}.json`);
  const args = [
    '--url',
    stack.apiUrl,
    '--scenario',
    scenario,
    '--duration',
    '2',
    '--json-out',
    out,
    ...extra,
  ];
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`load ${scenario} exited with ${code}:\n${stderr}`));
        return;
      }
      readFile(out, 'utf8').then(
        (text) => resolve({ result: JSON.parse(text) as LoadResult, stdout }),
        reject,
      );
    });
  });
}

const fiveHundreds = (result: LoadResult) =>
  Object.entries(result.statuses).filter(([status]) => status.startsWith('5') || status === 'network');

describe('npm run load, each scenario for 2 s', () => {
  it.each([
    ['users', ['--connections', '4']],
    ['small-files', ['--connections', '4']],
    ['large-files', ['--connections', '2', '--mib', '4']],
    ['mixed', ['--connections', '4']],
    ['processing', ['--connections', '4', '--mib', '1']],
  ])('%s', async (scenario, extra) => {
    const { result, stdout } = await load(scenario, extra);
    expect(result.scenario).toBe(scenario);
    expect(result.requests).toBeGreaterThan(0);
    expect(fiveHundreds(result)).toEqual([]);
    expect(result.latencyMs.p99).toBeGreaterThan(0);
    expect(stdout).toContain(`podstore load: ${scenario} against ${stack.apiUrl}`);
    if (scenario === 'mixed') {
      expect(result.details.grants).toBe('applied');
      expect(result.ops.append?.requests ?? 0).toBeGreaterThan(0);
      expect(result.notices).toEqual([]);
    }
    if (scenario === 'processing') {
      expect(Object.keys(result.details.requestsByWorkerPid as object).length).toBeGreaterThan(0);
    }
  });

  it('refuses an unbounded run before sending anything', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load/main.ts', '--scenario', 'users'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('a run must be bounded');
  });
});
