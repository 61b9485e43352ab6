/**
 * Reopening a download whose worker died mid-stream. The response is already committed (status,
 * Content-Length, ETag), so the rest must be exactly the bytes still owed, of exactly that version:
 * the api asks another worker for `bytes=<reached>-<end>` under `If-Match: <etag>`, and takes the
 * answer only if it is that range of that version. Anything else (the file replaced or deleted
 * meanwhile, a range the worker would not serve) ends the response with an error: a client never gets
 * a body stitched from two versions.
 */
import { unpack } from '../../protocol/codec.ts';
import { HttpProblem } from '../problem.ts';
import type { BrokerStream, WorkerPart } from './broker-stream.ts';
import type { StartedDownload } from './download-start.ts';

export interface DownloadResume {
  /** How many times one response may be reopened (DOWNLOAD_REOPEN_ATTEMPTS). */
  attempts: number;
  /** Every byte of the body has been sent (a worker lost after its last data part costs nothing). */
  complete(sent: number): boolean;
  /** Opens the rest of the body, `sent` bytes into the response; rejects if that cannot be had. */
  reopen(sent: number, attempt: number): Promise<{ stream: BrokerStream; early: WorkerPart[] }>;
}

export interface ResponseBody {
  etag: string;
  /** First and last byte of the file the response carries. */
  start: number;
  end: number;
}

/** The Range header that asks for the bytes of `body` not sent yet. */
export function remainingRange(body: ResponseBody, sent: number): string {
  return `bytes=${body.start + sent}-${body.end}`;
}

/** Whether the worker's metadata part describes exactly the rest of `body` (else: why not). */
export function checkReopened(body: ResponseBody, sent: number, meta: Buffer): string | undefined {
  const got = unpack(meta) as { status: number; info?: { etag?: string }; start: number; end: number };
  if (got.status !== 206) return `the worker answered ${got.status}`;
  if (got.info?.etag !== body.etag) return 'the file changed';
  if (got.start !== body.start + sent || got.end !== body.end)
    return `the worker offered bytes ${got.start}-${got.end}`;
  return undefined;
}

/** A resume for `body`, opening streams with `start` (startDownload over the files.get command). */
export function downloadResume(
  body: ResponseBody,
  attempts: number,
  start: (range: string, etag: string) => Promise<StartedDownload>,
  onReopen?: (from: number, attempt: number) => void,
): DownloadResume {
  return {
    attempts,
    complete: (sent) => sent >= body.end - body.start + 1,
    async reopen(sent, attempt) {
      onReopen?.(body.start + sent, attempt);
      const started = await start(remainingRange(body, sent), body.etag);
      const why =
        started.meta?.part === 'meta'
          ? checkReopened(body, sent, started.meta.body)
          : 'the worker sent no metadata';
      if (why !== undefined) {
        started.stream.cancel();
        throw new HttpProblem(503, `the download's worker was lost and it could not be resumed: ${why}`);
      }
      return { stream: started.stream, early: started.early };
    },
  };
}
