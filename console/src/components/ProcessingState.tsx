import { useEffect, useState } from 'preact/hooks';
import { files } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import type { ProcessingView } from '../api/types.ts';
import { processingReasonText } from '../processed-preview.ts';

/** How often, and how many times at most, a pending file's state is asked again while it is shown. */
const POLL_MS = 3_000;
const MAX_POLLS = 10;

interface Props {
  credentials: Credentials;
  owner: string;
  path: string;
  /** The version shown: a state of another version is not this file's. */
  etag: string;
  initial: ProcessingView;
}

/** A file's processing state (pending, done, failed with why), asked again a few times while pending. */
export function ProcessingState({ credentials, owner, path, etag, initial }: Props) {
  const [view, setView] = useState(initial);

  useEffect(() => setView(initial), [initial]);

  useEffect(() => {
    if (view.state !== 'pending') return;
    let polls = 0;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      polls += 1;
      try {
        const info = await files.metadata(credentials, owner, path);
        if (stopped) return;
        if (info.etag === etag && info.processing !== undefined && info.processing.state !== 'pending') {
          setView(info.processing);
          return;
        }
      } catch {
        // Shown as it was; the details view reports errors of its own loads.
      }
      if (!stopped && polls < MAX_POLLS) timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [credentials, owner, path, etag, view.state]);

  return (
    <span data-testid="processing-state" data-state={view.state}>
      {view.state === 'pending'
        ? 'pending (previews and search text are being made)'
        : view.state === 'done'
          ? `done${searchNote(view.search)}`
          : `failed: ${processingReasonText(view.reason)}`}
    </span>
  );
}

/** What a search misses of a processed file when the pod's index was full (the API's `processing.search`). */
function searchNote(search: ProcessingView['search']): string {
  if (search === 'without-text')
    return ' (the pod’s search index is full: found by name and details, not by its words)';
  if (search === 'none') return ' (the pod’s search index is full: not found by search)';
  return '';
}
