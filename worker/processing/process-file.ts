/** One file's previews and text, as a job asks: what the file's kind has (a Markdown file has no preview). */
import { extractText } from './extract-text.ts';
import { makePreviews } from './make-preview.ts';
import { PREVIEW_KINDS, TEXT_KINDS } from './media-kind.ts';
import type { JobMessage, ProcessingResult } from './thread-protocol.ts';

export async function processFile({ job, sizes, limits }: JobMessage): Promise<ProcessingResult> {
  const result: ProcessingResult = { previews: new Map() };
  if (job.previews && PREVIEW_KINDS.has(job.kind))
    result.previews = await makePreviews(job.bytes, job.kind, sizes, limits);
  if (job.text && TEXT_KINDS.has(job.kind)) result.text = await extractText(job.bytes, job.kind, limits);
  return result;
}
