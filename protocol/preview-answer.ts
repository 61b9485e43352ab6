/** What the `files.preview` command answers (worker → api): a preview still being made, or its bytes. */
export type PreviewAnswer =
  | { state: 'pending'; retryAfterS: number; etag: string }
  | { state: 'ready'; etag: string; contentType: string; body: Uint8Array; fileEtag: string };
