/**
 * The processing sandbox: jobs run in a worker thread whose time and heap are bounded; a job that
 * loops, exhausts its heap or crashes fails with a refusal, and the sandbox runs the next job.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultLimits,
  type ProcessingLimits,
  ProcessingRefused,
} from '../../worker/processing/processing-limits.ts';
import { ProcessingSandbox } from '../../worker/processing/processing-sandbox.ts';
import { makeImage, makePdf, pdfWithImageBomb, pngBomb } from '../helpers/processing-fixtures.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const hostileThread = new URL('../helpers/hostile-processing-thread.ts', import.meta.url);
const utf8 = (text: string) => new TextEncoder().encode(text);
const limits = (overrides: Partial<ProcessingLimits>): ProcessingLimits => ({
  ...defaultLimits,
  ...overrides,
});

async function refusal(promise: Promise<unknown>): Promise<ProcessingRefused> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProcessingRefused);
  return error as ProcessingRefused;
}

const sandboxes: ProcessingSandbox[] = [];
const sandbox = (l: ProcessingLimits, options: ConstructorParameters<typeof ProcessingSandbox>[1] = {}) => {
  const made = new ProcessingSandbox(l, options);
  sandboxes.push(made);
  return made;
};
afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
});

describe('ProcessingSandbox', () => {
  it('makes previews and text in its thread', async () => {
    const box = sandbox(defaultLimits);
    const image = await box.run({
      bytes: await makeImage('jpeg', 800, 600),
      kind: 'image',
      previews: true,
      text: true,
    });
    expect([...image.previews.keys()]).toEqual([256, 1024]);
    expect(image.text).toBeUndefined();
    const meta = await sharp(image.previews.get(256)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 256, 192]);
    const pdf = await makePdf(2, { text: (n) => [`sandboxed page ${n}`] });
    const both = await box.run({ bytes: pdf, kind: 'pdf', previews: true, text: true });
    expect(both.text).toBe('sandboxed page 1\n\nsandboxed page 2');
    expect(both.previews.size).toBe(2);
    const notes = await box.run({ bytes: utf8('# notes'), kind: 'markdown', previews: true, text: true });
    expect(notes).toEqual({ previews: new Map(), text: '# notes' });
  });

  it('refuses hostile files with their codes, and keeps working', async () => {
    const box = sandbox(limits({ maxPdfPages: 3 }));
    expect(
      (await refusal(box.run({ bytes: pngBomb(30_000, 30_000), kind: 'image', previews: true, text: false })))
        .code,
    ).toBe('too_many_pixels');
    expect(
      (await refusal(box.run({ bytes: await makePdf(4), kind: 'pdf', previews: true, text: true }))).code,
    ).toBe('too_many_pages');
    expect(
      (await refusal(box.run({ bytes: utf8('%PDF-1.4 junk'), kind: 'pdf', previews: true, text: true })))
        .code,
    ).toBe('corrupt');
    const next = await box.run({
      bytes: await makeImage('png', 64, 64),
      kind: 'image',
      previews: true,
      text: false,
    });
    expect(next.previews.size).toBe(2);
  });

  it('renders a PDF page without the image bomb it draws, within the heap limit', async () => {
    const box = sandbox(defaultLimits);
    const pdf = await pdfWithImageBomb(30_000, 30_000);
    expect(pdf.length).toBeLessThan(10_000);
    const started = performance.now();
    const result = await box.run({ bytes: pdf, kind: 'pdf', previews: true, text: true });
    expect(performance.now() - started).toBeLessThan(10_000);
    const meta = await sharp(result.previews.get(256)).metadata();
    expect([meta.width, meta.height]).toEqual([256, 256]);
    // The page's own drawing is there: its lower left quarter is black.
    expect((await sharp(result.previews.get(256)).stats()).channels[0]?.min).toBeLessThan(20);
  });

  it('refuses bytes above maxInputBytes without sending them to the thread', async () => {
    const box = sandbox(limits({ maxInputBytes: 10 }), {
      threadEntry: new URL('file:///nonexistent/thread.js'),
    });
    expect(
      (await refusal(box.run({ bytes: new Uint8Array(11), kind: 'text', previews: false, text: true }))).code,
    ).toBe('too_large');
  });

  it('terminates a job that loops, within the time limit, and runs the next job', async () => {
    const box = sandbox(limits({ timeoutMs: 500 }), { threadEntry: hostileThread });
    // The first job starts the thread; the limit counts from the job's start, not the thread's.
    expect((await box.run({ bytes: utf8('hi'), kind: 'text', previews: false, text: true })).text).toBe('hi');
    const started = performance.now();
    expect(
      (await refusal(box.run({ bytes: utf8('loop'), kind: 'text', previews: false, text: true }))).code,
    ).toBe('timed_out');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(3000);
    expect((await box.run({ bytes: utf8('after'), kind: 'text', previews: false, text: true })).text).toBe(
      'after',
    );
  });

  it('ends a job that exhausts its heap with out_of_memory, and runs the next job', async () => {
    const box = sandbox(limits({ maxMemoryMb: 64, timeoutMs: 20_000 }), { threadEntry: hostileThread });
    expect(
      (await refusal(box.run({ bytes: utf8('allocate'), kind: 'text', previews: false, text: true }))).code,
    ).toBe('out_of_memory');
    expect((await box.run({ bytes: utf8('again'), kind: 'text', previews: false, text: true })).text).toBe(
      'again',
    );
  });

  it('fails a job whose thread crashes or exits, and runs the next job', async () => {
    const box = sandbox(defaultLimits, { threadEntry: hostileThread });
    expect(
      (await refusal(box.run({ bytes: utf8('crash'), kind: 'text', previews: false, text: true }))).code,
    ).toBe('corrupt');
    expect(
      (await refusal(box.run({ bytes: utf8('exit'), kind: 'text', previews: false, text: true }))).code,
    ).toBe('corrupt');
    expect((await box.run({ bytes: utf8('fine'), kind: 'text', previews: false, text: true })).text).toBe(
      'fine',
    );
  });

  it('runs jobs given at once one after another, each within its own time', async () => {
    const box = sandbox(limits({ timeoutMs: 400 }), { threadEntry: hostileThread });
    const jobs = ['a', 'loop', 'b', 'c'].map((text) =>
      box.run({ bytes: utf8(text), kind: 'text', previews: false, text: true }).then(
        (result) => result.text,
        (error: ProcessingRefused) => error.code,
      ),
    );
    expect(await Promise.all(jobs)).toEqual(['a', 'timed_out', 'b', 'c']);
  });

  it('terminates a real job cut short in the middle of decoding, and runs the next job', async () => {
    const box = sandbox(limits({ timeoutMs: 50 }));
    const big = await makeImage('png', 3000, 3000);
    // Start the thread first, so that the limit applies to the job.
    await box.run({ bytes: utf8('x'), kind: 'text', previews: false, text: true });
    expect((await refusal(box.run({ bytes: big, kind: 'image', previews: true, text: false }))).code).toBe(
      'timed_out',
    );
    expect(
      (await box.run({ bytes: utf8('still here'), kind: 'text', previews: false, text: true })).text,
    ).toBe('still here');
  });

  it('fails with a plain error, not a refusal, when its thread cannot start, and tries again next time', async () => {
    const box = sandbox(defaultLimits, { threadEntry: new URL('./no-such-thread.js', import.meta.url) });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await box.run({ bytes: utf8('x'), kind: 'text', previews: false, text: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ProcessingRefused);
      expect((error as Error).message).toMatch(/processing thread/);
    }
  });

  it('fails jobs after close', async () => {
    const box = sandbox(defaultLimits);
    await box.close();
    await expect(box.run({ bytes: utf8('x'), kind: 'text', previews: false, text: true })).rejects.toThrow(
      /closed/,
    );
  });

  it('runs compiled to JavaScript under plain node, as the container image runs it', async () => {
    // Inside the repository, so that the compiled files find its node_modules (sharp, pdf.js).
    await mkdir(join(ROOT, '.cache'), { recursive: true });
    const out = await mkdtemp(join(ROOT, '.cache', 'processing-build-'));
    try {
      await run(
        join(ROOT, 'node_modules/.bin/tsc'),
        [
          ...['--outDir', out, '--rootDir', ROOT, '--module', 'nodenext', '--target', 'es2022'],
          ...['--rewriteRelativeImportExtensions', '--allowImportingTsExtensions', '--verbatimModuleSyntax'],
          ...['--skipLibCheck', '--strict', '--types', 'node'],
          join(ROOT, 'worker/processing/processing-sandbox.ts'),
          join(ROOT, 'worker/processing/processing-thread.ts'),
        ],
        { cwd: ROOT },
      );
      const sandboxUrl = new URL(`file://${join(out, 'worker/processing/processing-sandbox.js')}`).href;
      const script = `
        const { ProcessingSandbox } = await import(${JSON.stringify(sandboxUrl)});
        const { defaultLimits } = await import(${JSON.stringify(sandboxUrl.replace('processing-sandbox', 'processing-limits'))});
        const box = new ProcessingSandbox(defaultLimits);
        const result = await box.run({ bytes: new TextEncoder().encode('plain node'), kind: 'text', previews: false, text: true });
        await box.close();
        console.log(JSON.stringify(result.text));`;
      // Plain node: no tsx loader anywhere in the process.
      const scriptFile = join(out, 'run-sandbox.mjs');
      await writeFile(scriptFile, script);
      const { stdout } = await run(process.execPath, [scriptFile], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      expect(stdout.trim()).toBe('"plain node"');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
