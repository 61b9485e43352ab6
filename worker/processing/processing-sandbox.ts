/**
 * Runs the processing of one file at a time in a worker thread with a V8 heap limit
 * (resourceLimits.maxOldGenerationSizeMb = limits.maxMemoryMb) and a time limit that terminates the
 * thread: a hostile file costs bounded CPU and memory and fails with ProcessingRefused (timed_out,
 * out_of_memory, …); it never takes the worker process down.
 *
 * One thread, kept alive between jobs and replaced after a terminated, crashed or exhausted job and
 * after `recycleAfterJobs` jobs: starting a thread loads sharp and pdf.js (about a second), which a
 * thread per job would pay for every file. Jobs run one after another; a worker process that wants
 * more at once makes more sandboxes. Native memory (libvips, the canvas) is outside the V8 heap and is
 * bounded by the pixel limits instead.
 *
 * The thread's entry is processing-thread.js beside this module when it runs compiled (node dist/…),
 * and processing-thread.ts loaded through tsx's loader when it runs from the TypeScript sources
 * (tsx in development and tests): a worker thread does not inherit the parent's `--import tsx`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PREVIEW_SIZES } from './preview-sizes.ts';
import { checkInputSize, type ProcessingLimits, ProcessingRefused } from './processing-limits.ts';
import type { JobMessage, ProcessingJob, ProcessingResult, ReplyMessage } from './thread-protocol.ts';

export type { ProcessingJob, ProcessingResult } from './thread-protocol.ts';

export interface SandboxOptions {
  /** The thread's module (tests inject one); default: processing-thread beside this module. */
  threadEntry?: URL;
  /** Preview sizes; default PREVIEW_SIZES. */
  sizes?: readonly number[];
  /** A fresh thread after this many jobs; default 200. */
  recycleAfterJobs?: number;
  /** How long a new thread may take to load its modules; default 60 s. */
  startTimeoutMs?: number;
  /** The nice value of the processing threads (thread-priority.ts); default 0: the worker's own. */
  nice?: number;
}

const sourceExtension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * The file URL of tsx's ESM API, which registers its loader in the calling thread. From tsx's package
 * exports (tsx is a development dependency: only a worker run from the sources needs it).
 */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const path = exports['./esm/api']?.import?.default;
  if (!path) throw new Error('tsx has no ESM API to load the processing thread with');
  return pathToFileURL(join(dirname(manifest), path)).href;
}

/** A worker thread running `entry`, through tsx's loader when the entry is TypeScript. */
function startThread(entry: URL, limits: ProcessingLimits): Worker {
  const options = {
    resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb, maxYoungGenerationSizeMb: 16 },
    // The parent's flags (--input-type, --eval, …) need not suit a thread; --enable-source-maps does.
    execArgv: process.execArgv.filter((flag) => flag === '--enable-source-maps'),
  };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const shim = `import(${JSON.stringify(tsxApiUrl())})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })
    .catch((error) => { setImmediate(() => { throw error; }); });`;
  return new Worker(shim, { ...options, eval: true });
}

interface RunningJob {
  id: number;
  resolve: (result: ProcessingResult) => void;
  reject: (error: Error) => void;
}

/** One thread and what it is doing. */
class SandboxThread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  jobs = 0;
  running: RunningJob | undefined;
  exited = false;
  /** Why the thread is gone (terminated, out of memory, crashed): the running job's refusal. */
  private cause: Error | undefined;

  constructor(entry: URL, limits: ProcessingLimits, startTimeoutMs: number) {
    this.worker = startThread(entry, limits);
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the processing thread did not start within ${startTimeoutMs} ms`));
        void this.worker.terminate();
      }, startTimeoutMs);
      this.worker.on('message', (message: ReplyMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else this.settle(message);
      });
      this.worker.on('error', (error: Error & { code?: string }) => {
        clearTimeout(timer);
        this.cause ??=
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new ProcessingRefused(
                'out_of_memory',
                `the file needed more than ${limits.maxMemoryMb} MB of heap`,
              )
            : new ProcessingRefused('corrupt', `processing the file crashed: ${error.message}`);
        reject(new Error(`the processing thread failed: ${error.message}`));
      });
      this.worker.on('exit', (code) => {
        clearTimeout(timer);
        this.exited = true;
        reject(new Error(`the processing thread exited (code ${code}) before it was ready`));
        const running = this.running;
        this.running = undefined;
        running?.reject(
          this.cause ??
            new ProcessingRefused('corrupt', `processing the file ended the thread (code ${code})`),
        );
      });
    });
    // Nobody may be waiting yet: a failed start is reported to the job that awaits it.
    this.ready.catch(() => {});
  }

  /** Ends the thread; the running job (if any) fails with `cause`. */
  stop(cause: Error): Promise<number> {
    this.cause ??= cause;
    return this.worker.terminate();
  }

  private settle(message: Exclude<ReplyMessage, { type: 'ready' }>): void {
    const running = this.running;
    if (!running || running.id !== message.id) return;
    this.running = undefined;
    if (message.type === 'done') {
      const previews = new Map(
        message.previews.map(([size, image]) => [
          size,
          Buffer.from(image.buffer, image.byteOffset, image.byteLength),
        ]),
      );
      running.resolve(message.text === undefined ? { previews } : { previews, text: message.text });
    } else if (message.type === 'refused')
      running.reject(new ProcessingRefused(message.code, message.message));
    else running.reject(new Error(`processing failed: ${message.message}`));
  }
}

export class ProcessingSandbox {
  private readonly entry: URL;
  private readonly sizes: readonly number[];
  private readonly recycleAfterJobs: number;
  private readonly startTimeoutMs: number;
  private readonly nice: number;
  private thread: SandboxThread | undefined;
  /** Jobs run one after another: each waits for the one before. */
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly limits: ProcessingLimits,
    options: SandboxOptions = {},
  ) {
    this.entry = options.threadEntry ?? new URL(`./processing-thread${sourceExtension}`, import.meta.url);
    this.sizes = options.sizes ?? PREVIEW_SIZES;
    this.recycleAfterJobs = options.recycleAfterJobs ?? 200;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.nice = options.nice ?? 0;
  }

  /** The previews and text of one file; rejects with ProcessingRefused when the file cannot be processed. */
  run(job: ProcessingJob): Promise<ProcessingResult> {
    const result = this.queue.then(() => this.runNow(job));
    this.queue = result.catch(() => {});
    return result;
  }

  /** Ends the thread; jobs not yet finished fail. */
  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    this.thread = undefined;
    await thread?.stop(new Error('the processing sandbox closed'));
  }

  private async runNow(job: ProcessingJob): Promise<ProcessingResult> {
    if (this.closed) throw new Error('the processing sandbox is closed');
    checkInputSize(job.bytes, this.limits);
    const thread = await this.readyThread();
    thread.jobs++;
    const id = this.nextId++;
    const message: JobMessage = { id, job, sizes: this.sizes, limits: this.limits, nice: this.nice };
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<ProcessingResult>((resolve, reject) => {
        thread.running = { id, resolve, reject };
        timer = setTimeout(() => {
          this.retire(
            thread,
            new ProcessingRefused('timed_out', `processing took longer than ${this.limits.timeoutMs} ms`),
          );
        }, this.limits.timeoutMs);
        thread.worker.postMessage(message);
      });
    } finally {
      clearTimeout(timer);
      if (thread.jobs >= this.recycleAfterJobs) this.retire(thread, new Error('recycled'));
    }
  }

  private async readyThread(): Promise<SandboxThread> {
    // A thread that died (out of memory, crashed) is replaced; a terminated one is already forgotten.
    if (this.thread?.exited) this.thread = undefined;
    if (!this.thread) this.thread = new SandboxThread(this.entry, this.limits, this.startTimeoutMs);
    const thread = this.thread;
    try {
      await thread.ready;
    } catch (error) {
      if (this.thread === thread) this.thread = undefined;
      throw error;
    }
    return thread;
  }

  /** Stops `thread` (failing its running job with `cause`) and forgets it. */
  private retire(thread: SandboxThread, cause: Error): void {
    if (this.thread === thread) this.thread = undefined;
    void thread.stop(cause);
  }
}
