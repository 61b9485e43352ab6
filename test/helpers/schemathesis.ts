/**
 * schemathesis, the property-based API fuzzer (PyPI), for the OpenAPI fuzz test: deploy/schemathesis.sh
 * installs it once into a cached virtualenv and says where; `runSchemathesis` runs it and keeps its
 * output.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The `st` command: installed by deploy/schemathesis.sh (minutes the first time, then cached). */
export async function provisionSchemathesis(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [path.join(root, 'deploy/schemathesis.sh')], {
    cwd: root,
    timeout: 600_000,
    maxBuffer: 1 << 20,
  });
  const bin = /^SCHEMATHESIS_BIN=(.+)$/m.exec(stdout)?.[1];
  if (bin === undefined)
    throw new Error(`deploy/schemathesis.sh printed no SCHEMATHESIS_BIN= line:\n${stdout}`);
  return bin.trim();
}

export interface FuzzRun {
  exitCode: number | null;
  output: string;
}

/**
 * Runs `st <args>` in `cwd` (where it keeps its cache of failures), killed after `timeoutMs`; resolves
 * with its exit code and output (stdout and stderr).
 */
export function runSchemathesis(
  bin: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<FuzzRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        SCHEMATHESIS_TELEMETRY: 'false',
        // test/helpers/schemathesis_hooks.py: how to send tus's application/offset+octet-stream bodies.
        SCHEMATHESIS_HOOKS: 'schemathesis_hooks',
        PYTHONPATH: path.join(root, 'test/helpers'),
      },
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output });
    });
  });
}
