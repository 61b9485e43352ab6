/**
 * A pod's live events (GET /v1/users/{owner}/events) over fetch streaming, with the bearer token in a
 * header. Reconnects after a drop (resuming with Last-Event-ID), backing off; stops for good on a refusal
 * that retrying cannot mend (401, 403, 404), and reports whether it is live.
 */
import { type Credentials, send } from '../api/http.ts';
import { userPath } from '../api/paths.ts';
import { ApiError } from '../api/problem.ts';
import type { PodEvent } from '../api/types.ts';
import { SseParser } from './sse-parser.ts';

export type LiveState = 'connecting' | 'live' | 'off';

export function watchPod(
  credentials: Credentials,
  owner: string,
  onEvent: (event: PodEvent) => void,
  onState: (state: LiveState, why?: string) => void,
): () => void {
  const controller = new AbortController();
  let lastEventId: string | null = null;
  let delayMs = 500;

  const connect = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      onState('connecting');
      try {
        const response = await send(credentials, `${userPath(owner)}/events`, {
          headers: {
            accept: 'text/event-stream',
            ...(lastEventId === null ? {} : { 'last-event-id': lastEventId }),
          },
          signal: controller.signal,
        });
        if (response.body === null) throw new Error('no body');
        onState('live');
        delayMs = 500;
        const parser = new SseParser((message) => {
          try {
            onEvent(JSON.parse(message.data) as PodEvent);
          } catch {
            // not an event of ours
          }
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
          lastEventId = parser.lastEventId ?? lastEventId;
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.status === 404) {
          // The owner's pod, or a grant with read: either is missing here (as the API says, alike).
          onState('off', 'live updates need read access to this pod');
          return;
        }
        if (error instanceof ApiError && [401, 403].includes(error.status)) {
          onState('off', error.detail);
          return;
        }
        if (error instanceof ApiError && error.status === 503 && /NATS/.test(error.detail)) {
          onState('off', 'live updates are off on this server (no NATS)');
          return;
        }
      }
      if (controller.signal.aborted) return;
      onState('connecting');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 15_000);
    }
  };
  void connect();
  return () => controller.abort();
}
