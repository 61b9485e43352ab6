import { formatBytes } from '../format.ts';

export interface UploadItem {
  id: number;
  name: string;
  total: number;
  sent: number;
  state: 'uploading' | 'done' | 'failed' | 'cancelled';
  /** Sent with tus: goes on by itself after a dropped connection (within this page). */
  resumable: boolean;
  message?: string;
  cancel: () => void;
}

/** Every upload of this session: a progress bar each, and cancel while it runs. */
export function UploadQueue({ uploads }: { uploads: UploadItem[] }) {
  if (uploads.length === 0) return null;
  return (
    <ul class="uploads" aria-label="Uploads">
      {uploads.map((upload) => (
        <li key={upload.id} data-state={upload.state} data-resumable={upload.resumable}>
          <span class="upload-name">{upload.name}</span>
          <progress
            max={upload.total || 1}
            value={upload.state === 'uploading' || upload.state === 'done' ? upload.sent : 0}
            aria-label={`upload of ${upload.name}`}
          />
          <span class="muted">
            {upload.state === 'uploading'
              ? `${formatBytes(upload.sent)} of ${formatBytes(upload.total)}${upload.resumable ? ', resumable' : ''}`
              : upload.state === 'done'
                ? 'uploaded'
                : upload.state === 'cancelled'
                  ? 'cancelled'
                  : `failed: ${upload.message ?? ''}`}
          </span>
          {upload.state === 'uploading' && (
            <button type="button" onClick={upload.cancel}>
              Cancel<span class="visually-hidden"> {upload.name}</span>
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
