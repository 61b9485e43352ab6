/**
 * A processing thread for the sandbox tests: the real processing, except for text files whose text
 * names a hostile behaviour — `loop` spins forever, `allocate` fills the heap, `crash` throws outside
 * any job, `exit` ends the thread.
 */
import { processFile } from '../../worker/processing/process-file.ts';
import { serveProcessingJobs } from '../../worker/processing/thread-protocol.ts';

serveProcessingJobs(async (message) => {
  const command = message.job.kind === 'text' ? new TextDecoder().decode(message.job.bytes) : '';
  if (command === 'loop') for (;;);
  if (command === 'allocate') {
    const hoard: number[][] = [];
    for (;;) hoard.push(Array.from({ length: 100_000 }, (_, i) => i * 1.5));
  }
  if (command === 'crash')
    setImmediate(() => {
      throw new Error('thrown outside any job');
    });
  if (command === 'crash') return new Promise(() => {});
  if (command === 'exit') process.exit(3);
  return processFile(message);
});
