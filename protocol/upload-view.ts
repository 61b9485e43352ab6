/** A resumable upload as a worker describes it to the api (uploads.create, .info, .patch). */
import type { FileInfo } from './file-info.ts';

export interface UploadView {
  id: string;
  /** The pod path the file is written to once complete. */
  path: string;
  length: number;
  /** Bytes the server has (the length once the file is written). */
  offset: number;
  /** The client's Upload-Metadata. */
  metadata: Record<string, string>;
  expiresAt: string;
  complete: boolean;
  /** The file written, once complete. */
  file?: FileInfo;
  /** Once complete: whether the final write created the file (201) or replaced one (200). */
  created?: boolean;
}
