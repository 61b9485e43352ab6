import { useEffect, useRef, useState } from 'preact/hooks';
import type { Credentials } from '../api/http.ts';
import { hasProcessedPreview, THUMBNAIL_SIZE } from '../processed-preview.ts';
import { TaskLimiter } from '../task-limiter.ts';
import { useServerPreview } from './use-server-preview.ts';

/** Thumbnails asked for at once, across the page: a folder of images never floods the server. */
const THUMBNAILS_AT_ONCE = 4;
const thumbnails = new TaskLimiter(THUMBNAILS_AT_ONCE);

interface Props {
  credentials: Credentials;
  owner: string;
  path: string;
  contentType: string | undefined;
  /** Changes when the file does (its update time and size): a new version, a new thumbnail. */
  version: string;
}

/**
 * A file's 256 px thumbnail in a folder listing, asked for only once its row is on screen (or near),
 * only for images and PDFs. While it is being made, a placeholder; when none can exist, the file icon.
 */
export function Thumbnail({ credentials, owner, path, contentType, version }: Props) {
  const wanted = hasProcessedPreview(contentType);
  const box = useRef<HTMLSpanElement>(null);
  const [visible, setVisible] = useState(false);

  useEffect(() => {
    const element = box.current;
    if (!wanted || visible || element === null) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) {
          setVisible(true);
          observer.disconnect();
        }
      },
      { rootMargin: '200px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [wanted, visible]);

  const preview = useServerPreview(
    credentials,
    owner,
    path,
    THUMBNAIL_SIZE,
    version,
    wanted && visible,
    thumbnails,
  );
  const name = path.split('/').pop() ?? path;
  return (
    <span class="thumb" ref={box} data-testid="thumbnail" data-state={wanted ? preview.state : 'none'}>
      {preview.state === 'ready' ? (
        <img src={preview.url} alt={`thumbnail of ${name}`} />
      ) : preview.state === 'loading' || preview.state === 'pending' ? (
        <span class="thumb-placeholder" role="img" aria-label={`thumbnail of ${name} being made`} />
      ) : (
        <span class="file-icon" aria-hidden="true" />
      )}
    </span>
  );
}
