/** Benchmarks share code with tests only through modules both use (deploy/local/), never test helpers. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function sourcesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(path.join(root, folder), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

/** The repository-relative files a source file imports (relative specifiers only). */
function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return specifiers.map((specifier) =>
    path.relative(root, path.resolve(root, path.dirname(file), specifier)),
  );
}

describe('bench/', () => {
  it('imports nothing from test/', async () => {
    const files = await sourcesUnder('bench');
    expect(files.length).toBeGreaterThan(5);
    const offending: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(root, file), 'utf8');
      for (const target of importsOf(file, text)) {
        if (target.split(path.sep)[0] === 'test') offending.push(`${file} -> ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
