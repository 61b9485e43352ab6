/**
 * `npm run load -- --url <api> --scenario <name> --connections C --duration S [--requests N]
 * [--token T] [--json-out FILE] [--progress]`: load-tests a podstore api with one scenario and prints
 * throughput, latency percentiles and errors by status; the same as JSON in a file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgsError, parseLoadArgs, USAGE } from './args.ts';
import { loadRun } from './load-run.ts';
import { progressOn } from './progress.ts';
import { renderSummary } from './render.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

let args: ReturnType<typeof parseLoadArgs>;
try {
  args = parseLoadArgs(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ArgsError)) throw err;
  log(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (args === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const progress = progressOn(process.stderr, args.progress);
try {
  const result = await loadRun(args, { log, ...(progress.onTick ? { onTick: progress.onTick } : {}) });
  progress.done();
  process.stdout.write(`${renderSummary(result, result)}\n`);
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const file =
    args.jsonOut ?? fileURLToPath(new URL(`../results/load-${args.scenario}-${stamp}.json`, import.meta.url));
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${file}`);
} catch (err) {
  progress.done();
  log(`load run failed: ${(err as Error).message}`);
  process.exit(1);
}
