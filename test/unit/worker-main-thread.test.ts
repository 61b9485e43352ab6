/**
 * The worker's main thread serves every request; the image and PDF libraries (sharp's libvips, the
 * canvas, pdf.js) belong in the processing thread alone, where they cost memory only while processing
 * runs. A child process imports every module worker/main.ts imports and lists the native libraries then
 * mapped into it (Linux's /proc/self/maps).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe("the worker's main thread", () => {
  it('loads no image or PDF library', async () => {
    const main = readFileSync('worker/main.ts', 'utf8');
    const modules = [...main.matchAll(/^import [^;]*? from '(\.[^']+)';$/gms)].map(
      (m) => pathToFileURL(resolve('worker', m[1] ?? '')).href,
    );
    expect(modules.length).toBeGreaterThan(20);
    const script = `
      for (const m of ${JSON.stringify(modules)}) await import(m);
      const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
      const loaded = new Set(maps.split('\\n').map((l) => l.split(/\\s+/)[5] ?? '').filter((p) => p.endsWith('.node') || p.includes('.so')));
      console.log(JSON.stringify([...loaded].map((p) => p.split('/').pop())));
    `;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 60_000,
    });
    const libraries = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as string[];
    // The probe works: zeromq's addon is among what the main thread loads.
    expect(libraries.some((name) => /zeromq|addon/.test(name))).toBe(true);
    expect(libraries.filter((name) => /vips|sharp|skia|canvas|pdfium/i.test(name))).toEqual([]);
  }, 90_000);
});
