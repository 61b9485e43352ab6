import { useEffect, useRef, useState } from 'preact/hooks';
import type { Credentials } from '../api/http.ts';
import type { PodEvent } from '../api/types.ts';
import { type LiveState, watchPod } from './event-stream.ts';

/** Watches a pod's events while the component is shown; the latest callback is always the one called. */
export function useLiveEvents(
  credentials: Credentials,
  owner: string,
  onEvent: (event: PodEvent) => void,
): { state: LiveState; why: string | undefined } {
  const [state, setState] = useState<{ state: LiveState; why: string | undefined }>({
    state: 'connecting',
    why: undefined,
  });
  const callback = useRef(onEvent);
  callback.current = onEvent;
  useEffect(
    () =>
      watchPod(
        credentials,
        owner,
        (event) => callback.current(event),
        (next, why) => setState({ state: next, why }),
      ),
    [credentials, owner],
  );
  return state;
}
