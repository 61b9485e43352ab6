/**
 * The stack's processes as the image runs them: `tsc -p tsconfig.build.json` into a directory inside
 * the repository (so that node_modules and package.json are found above it), for LocalStack's
 * `compiledDir`. Measured through tsx instead, each process carries tsx's loader thread (about 36 MiB of
 * resident memory for the api at rest) and compiles on start.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where the bench's build goes (ignored by git, replaced on every run). */
export const COMPILED_DIR = path.join(ROOT, '.cache', 'bench-dist');

export async function compileStack(log: (line: string) => void): Promise<string> {
  const started = performance.now();
  await rm(COMPILED_DIR, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', COMPILED_DIR], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${code})`);
  log(`compiled the stack in ${((performance.now() - started) / 1000).toFixed(1)} s (${COMPILED_DIR})`);
  return COMPILED_DIR;
}
