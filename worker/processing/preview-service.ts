/**
 * Previews and processing status as callers see them. A preview is read with the same permission as the
 * file (FilesService.info checks it and names the current version); it is served only for that version,
 * so a new version never shows an old picture.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { PreviewAnswer } from '../../protocol/preview-answer.ts';
import type { FileInfo } from '../files/file-record.ts';
import type { FilesService } from '../files/files-service.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { checkPreviewSize } from './preview-sizes.ts';
import { PREVIEW_FORMAT, previewKey } from './processing-pipeline.ts';
import { type ProcessingView, readStatus, viewOf } from './processing-status.ts';

export type { PreviewAnswer } from '../../protocol/preview-answer.ts';

/** Seconds a client is told to wait for a preview still being made. */
export const PREVIEW_RETRY_AFTER_S = 2;

/**
 * A file version still without a status this long after it was written has probably lost its job (an
 * event never published: NATS away at the commit and the worker gone before it could send it, or a
 * file written before processing ran): asking for its preview or metadata asks for the job again.
 */
export interface Requeue {
  afterMs: number;
  ask(owner: string, path: string, etag: string): void;
}

export class PreviewService {
  constructor(
    private readonly store: ObjectStore,
    private readonly files: FilesService,
    readonly sizes: readonly number[],
    private readonly requeue?: Requeue,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The version's status; none yet, and the version old enough: its job is asked for again. */
  async #status(owner: string, info: FileInfo) {
    const status = await readStatus(this.store, owner, info.path, info.etag);
    if (
      status === undefined &&
      this.requeue !== undefined &&
      this.clock() - Date.parse(info.updatedAt) > this.requeue.afterMs
    )
      this.requeue.ask(owner, info.path, info.etag);
    return status;
  }

  async preview(actor: string | null, owner: string, path: string, size: number): Promise<PreviewAnswer> {
    checkPreviewSize(this.sizes, size);
    const info = await this.files.info(actor, owner, path);
    const status = await this.#status(owner, info);
    if (status === undefined)
      return { state: 'pending', retryAfterS: PREVIEW_RETRY_AFTER_S, etag: info.etag };
    if (status.state === 'failed') {
      throw new CommandError(
        ErrorCode.NO_PREVIEW,
        `this file could not be processed (${status.reason ?? 'failed'}): it has no preview`,
      );
    }
    if (!status.previews.includes(size)) {
      throw new CommandError(
        ErrorCode.NO_PREVIEW,
        status.kind === undefined
          ? 'files of this type have no preview'
          : `files of kind ${status.kind} have no preview`,
      );
    }
    const object = await this.store.get(previewKey(owner, path, info.etag, size));
    // Made, then removed by a newer version's job between the two reads: the newer one is on its way.
    if (object === undefined)
      return { state: 'pending', retryAfterS: PREVIEW_RETRY_AFTER_S, etag: info.etag };
    return {
      state: 'ready',
      etag: `${info.etag}-p${size}`,
      contentType: PREVIEW_FORMAT.contentType,
      body: object.body,
      fileEtag: info.etag,
    };
  }

  /** The processing state of the file version `info` describes. */
  async status(owner: string, info: FileInfo): Promise<ProcessingView> {
    return viewOf(await this.#status(owner, info));
  }
}
