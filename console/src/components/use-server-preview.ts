import { useEffect, useState } from 'preact/hooks';
import { files } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { pendingRetryDelayMs } from '../processed-preview.ts';
import type { TaskLimiter } from '../task-limiter.ts';

/** Where a server-made preview is: not asked yet, being made, shown (a blob: URL), or none. */
export type ServerPreview =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'pending' }
  | { state: 'ready'; url: string }
  /** 415: none can exist for this file (its kind, or processing refused it). */
  | { state: 'none' }
  /** Still pending after the last retry, or the request failed: nothing shown, nothing asked again. */
  | { state: 'unavailable' };

/**
 * Fetches a file's server-made preview once `enabled` (with the bearer token, never in a URL), retries
 * a few times while it is being made, and shows it through a blob: URL that is revoked when the
 * component goes, the file changes (`version`) or it is no longer wanted.
 */
export function useServerPreview(
  credentials: Credentials,
  owner: string,
  path: string,
  size: number,
  version: string,
  enabled: boolean,
  /** Shared by the previews of one view: how many are asked for at once. */
  limiter?: TaskLimiter,
): ServerPreview {
  const [preview, setPreview] = useState<ServerPreview>({ state: 'idle' });

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let url: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let retry = 0;
    const attempt = async () => {
      try {
        const ask = () => files.preview(credentials, owner, path, size, controller.signal);
        const answer = await (limiter === undefined ? ask() : limiter.run(ask, controller.signal));
        if (controller.signal.aborted) return;
        if (answer.state === 'ready') {
          url = URL.createObjectURL(answer.image);
          setPreview({ state: 'ready', url });
        } else if (answer.state === 'none') setPreview({ state: 'none' });
        else {
          retry += 1;
          const delay = pendingRetryDelayMs(answer.retryAfter, retry);
          if (delay === undefined) setPreview({ state: 'unavailable' });
          else {
            setPreview({ state: 'pending' });
            timer = setTimeout(() => void attempt(), delay);
          }
        }
      } catch {
        if (!controller.signal.aborted) setPreview({ state: 'unavailable' });
      }
    };
    setPreview({ state: 'loading' });
    void attempt();
    return () => {
      controller.abort();
      clearTimeout(timer);
      if (url !== null) URL.revokeObjectURL(url);
    };
  }, [credentials, owner, path, size, version, enabled, limiter]);

  return enabled ? preview : { state: 'idle' };
}
