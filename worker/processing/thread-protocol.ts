/**
 * The messages between the processing sandbox and its thread, and the thread's side of them: a thread
 * says `ready` once its modules are loaded, then answers one job at a time.
 */
import { parentPort } from 'node:worker_threads';
import type { MediaKind } from './media-kind.ts';
import {
  isRefusalCode,
  type ProcessingLimits,
  ProcessingRefused,
  type RefusalCode,
} from './processing-limits.ts';

export interface ProcessingJob {
  bytes: Uint8Array;
  kind: MediaKind;
  previews: boolean;
  text: boolean;
}

export interface ProcessingResult {
  previews: Map<number, Buffer>;
  text?: string;
}

export interface JobMessage {
  id: number;
  job: ProcessingJob;
  sizes: readonly number[];
  limits: ProcessingLimits;
  /** The nice value (0–19) the processing threads run at (thread-priority.ts); 0: the worker's own. */
  nice?: number;
}

export type ReplyMessage =
  | { type: 'ready' }
  | { type: 'done'; id: number; previews: [number, Uint8Array][]; text?: string }
  | { type: 'refused'; id: number; code: RefusalCode; message: string }
  | { type: 'failed'; id: number; message: string };

export type JobHandler = (message: JobMessage) => Promise<ProcessingResult>;

/** The thread's side: answers each job message with `handle`'s result, a refusal or a failure. */
export function serveProcessingJobs(handle: JobHandler): void {
  const port = parentPort;
  if (!port) throw new Error('the processing thread runs in a worker thread only');
  port.on('message', (message: JobMessage) => {
    handle(message).then(
      (result) => {
        const previews = [...result.previews].map(
          ([size, image]) => [size, new Uint8Array(image)] as [number, Uint8Array],
        );
        const reply: ReplyMessage = { type: 'done', id: message.id, previews };
        if (result.text !== undefined) reply.text = result.text;
        port.postMessage(
          reply,
          previews.map(([, image]) => image.buffer as ArrayBuffer),
        );
      },
      (error: unknown) => {
        const text = error instanceof Error ? error.message : String(error);
        const reply: ReplyMessage =
          error instanceof ProcessingRefused && isRefusalCode(error.code)
            ? { type: 'refused', id: message.id, code: error.code, message: text }
            : { type: 'failed', id: message.id, message: text };
        port.postMessage(reply);
      },
    );
  });
  port.postMessage({ type: 'ready' } satisfies ReplyMessage);
}
