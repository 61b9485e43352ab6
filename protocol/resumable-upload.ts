/**
 * What podstore's own clients — the CLI (client/resumable-upload.ts) and the web console
 * (console/src/api/resumable.ts) — agree on when they send a file with tus (docs/api.md#resumable-uploads-tus):
 * from which size, how often to retry, and the Upload-Metadata the api reads. Pure values, no I/O, so
 * that both the Node build and the browser build import them.
 */

/** A file this large (16 MiB) or larger goes up resumably; a smaller one in one PUT. */
export const RESUMABLE_MIN_BYTES = 16 * 2 ** 20;

/**
 * Waits between retries after a dropped connection or a 5xx (tus-js-client's `retryDelays`), in ms:
 * each retry asks the server where it stopped (HEAD) and goes on from there.
 */
export const RESUMABLE_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 15_000, 30_000];

/**
 * The Upload-Metadata of a new upload: the file's place in the pod (`path`) and its media type
 * (`filetype`; none: application/octet-stream). Nothing else: no credential ever goes in metadata.
 */
export function resumableMetadata(path: string, contentType?: string): { path: string; filetype: string } {
  return {
    path,
    filetype: contentType === undefined || contentType === '' ? 'application/octet-stream' : contentType,
  };
}
