/**
 * The processes import only the shared folders: the api, the broker and the worker each import their
 * own code, `protocol/` (what crosses the wire) and `runtime/` (what every process runs on), never one
 * another's; `protocol/` stays free of process code; the client (SDK and CLI) needs only `protocol/`,
 * so it can ship alone. A cross-import is how a "stateless" tier quietly grows a dependency on another.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

const ALLOWED: Record<string, string[]> = {
  api: ['api', 'protocol', 'runtime'],
  broker: ['broker', 'protocol', 'runtime'],
  worker: ['worker', 'protocol', 'runtime'],
  // A type of the logger, for the NATS invalidation listener's signature.
  protocol: ['protocol', 'runtime'],
  runtime: ['runtime', 'protocol'],
  client: ['client', 'protocol'],
};

/** Each relative import of the folder's TypeScript files, as the top-level folder it lands in. */
function importsOf(folder: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const files = readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' }).filter((f) =>
    /\.tsx?$/.test(f),
  );
  for (const file of files) {
    const path = join(root, folder, file);
    const source = readFileSync(path, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gm)) {
      const landed = relative(root, resolve(dirname(path), m[1] as string)).split('/')[0] as string;
      out.push({ file: `${folder}/${file}`, target: landed });
    }
  }
  return out;
}

describe('import boundaries', () => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only ${allowed.join(', ')}`, () => {
      const imports = importsOf(folder);
      expect(imports.length).toBeGreaterThan(0);
      const crossing = imports
        .filter((i) => !allowed.includes(i.target))
        .map((i) => `${i.file} → ${i.target}/`);
      expect(crossing).toEqual([]);
    });
  }
});
