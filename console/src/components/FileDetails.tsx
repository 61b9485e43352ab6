import { useEffect, useState } from 'preact/hooks';
import { files } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { FileDetailsInfo } from '../api/types.ts';
import { formatBytes, formatTime } from '../format.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { FilePreview } from './FilePreview.tsx';
import { ProcessingState } from './ProcessingState.tsx';
import { isSealed, SealedNotice } from './SealedNotice.tsx';

interface Props {
  credentials: Credentials;
  owner: string;
  path: string;
  onClose: () => void;
  onDeleted: () => void;
}

/** One file: its metadata, sealed or not, preview, download, tags and description, delete. */
export function FileDetails({ credentials, owner, path, onClose, onDeleted }: Props) {
  const [info, setInfo] = useState<FileDetailsInfo | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tags, setTags] = useState('');
  const [description, setDescription] = useState('');
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    setInfo(null);
    setError(null);
    files.metadata(credentials, owner, path).then(
      (loaded) => {
        setInfo(loaded);
        setTags(loaded.tags.join(', '));
        setDescription(loaded.description);
      },
      (err) => setError(asApiError(err)),
    );
  }, [credentials, owner, path]);

  const download = async () => {
    setError(null);
    try {
      const blob = await files.body(credentials, owner, path);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = path.split('/').pop() ?? 'download';
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const save = async (event: Event) => {
    event.preventDefault();
    if (info === null) return;
    setError(null);
    setSaved(false);
    try {
      const next = await files.patch(credentials, owner, path, info.etag, {
        tags: tags
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== ''),
        description,
      });
      setInfo(next);
      setSaved(true);
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const remove = async () => {
    if (!confirm(`Delete ${path}? This cannot be undone.`)) return;
    setError(null);
    try {
      await files.remove(credentials, owner, path);
      onDeleted();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const sealed = info !== null && isSealed(info, owner);
  return (
    <section class="card details" aria-labelledby="file-title" data-testid="file-details">
      <div class="row">
        <h3 id="file-title">{path}</h3>
        <button type="button" onClick={onClose}>
          Close<span class="visually-hidden"> file details</span>
        </button>
      </div>
      <ErrorNotice error={error} />
      {info === null ? (
        error === null && <p aria-busy="true">Loading…</p>
      ) : (
        <>
          {sealed && <SealedNotice info={info} owner={owner} viewer={credentials.username} />}
          <dl class="facts">
            <dt>Size</dt>
            <dd>{formatBytes(info.size)}</dd>
            <dt>Type</dt>
            <dd>{info.contentType}</dd>
            <dt>Author</dt>
            <dd data-testid="file-author">{info.author ?? 'unknown'}</dd>
            <dt>Updated</dt>
            <dd>{formatTime(info.updatedAt)}</dd>
            {info.processing !== undefined && (
              <>
                <dt>Processing</dt>
                <dd>
                  <ProcessingState
                    credentials={credentials}
                    owner={owner}
                    path={path}
                    etag={info.etag}
                    initial={info.processing}
                  />
                </dd>
              </>
            )}
            <dt>SHA-256</dt>
            <dd>
              <code class="hash">{info.sha256}</code>
            </dd>
          </dl>
          <div class="row">
            <button type="button" onClick={download}>
              Download
            </button>
            <button type="button" class="danger" onClick={remove}>
              Delete
            </button>
          </div>
          <FilePreview credentials={credentials} owner={owner} info={info} />
          {sealed ? (
            <p class="muted">
              Tags: {info.tags.join(', ') || '—'}; description: {info.description || '—'}
            </p>
          ) : (
            <form onSubmit={save} class="stack">
              <label>
                Tags (comma-separated)
                <input value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
              </label>
              <label>
                Description
                <textarea
                  rows={2}
                  value={description}
                  onInput={(e) => setDescription(e.currentTarget.value)}
                />
              </label>
              <button type="submit">Save tags and description</button>
              {saved && <p role="status">Saved.</p>}
            </form>
          )}
        </>
      )}
    </section>
  );
}
