/**
 * The processing thread's entry: makes the previews and the text of one file at a time, inside the
 * heap and time limits the sandbox (processing-sandbox.ts) gives the thread.
 */
import { loadPdfjs } from './pdf-document.ts';
import { processFile } from './process-file.ts';
import { lowerProcessingPriority } from './thread-priority.ts';
import { serveProcessingJobs } from './thread-protocol.ts';

// pdf.js is loaded before the thread says it is ready: a job's time limit is the job's own work.
await loadPdfjs();
serveProcessingJobs(async (message) => {
  const nice = message.nice ?? 0;
  lowerProcessingPriority(nice);
  try {
    return await processFile(message);
  } finally {
    // libvips starts threads during a job from libuv's pool threads, which keep the worker's priority:
    // lowered again once the job is done, they do not stay above it while idle or at the next job's start.
    lowerProcessingPriority(nice);
  }
});
