/**
 * `GET /v1/users/{owner}/events`: the pod's change events as Server-Sent Events. Filters `prefix` (a
 * folder) and `kinds` (comma list); `Last-Event-ID` (or `?lastEventId=`) resumes right after that
 * event. Each event is shown only if canSeeEvent allows it. Without NATS the answer is 503.
 */
import type { FastifyInstance } from 'fastify';
import { type EventKind, matchesFilter, normalizePrefix, parseKinds } from '../../protocol/events/event.ts';
import type { CallService } from '../call-service.ts';
import { canSeeEvent, type EventView } from '../events/can-see-event.ts';
import { EventsUnavailableError, type LiveEvents, type Subscription } from '../events/live-events.ts';
import { SseStream } from '../events/sse-stream.ts';
import { HttpProblem } from '../problem.ts';
import { eventsSchemas } from '../schemas/events.ts';

export const EVENTS_NEED_NATS =
  'events need NATS: this server runs without NATS_URL, so live events and webhooks are off';

const GRANTEE_VIEW_REFRESH_MS = 1000;
const OWNER_VIEW_REFRESH_MS = 5000;
const TOKEN_RECHECK_MS = 1000;

export interface EventsRouteOptions {
  call: CallService;
  /** Undefined when NATS_URL is empty. */
  events: LiveEvents | undefined;
  heartbeatMs: number;
  maxBufferBytes: number;
}

interface Query {
  prefix?: string;
  kinds?: string;
  lastEventId?: string;
}

/** The sequence to resume after: the Last-Event-ID header, else the query parameter, else none. */
export function resumePoint(
  header: string | string[] | undefined,
  query: string | undefined,
): number | undefined {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\d{1,15}$/.test(raw.trim()))
    throw new HttpProblem(400, 'Last-Event-ID is the id of an event seen (a number)');
  return Number(raw.trim());
}

export function eventsRoutes(options: EventsRouteOptions) {
  return async (app: FastifyInstance) => {
    const open = new Set<SseStream>();
    app.addHook('onRequest', async () => {
      if (options.events === undefined) throw new HttpProblem(503, EVENTS_NEED_NATS);
    });
    // Open streams never end by themselves: end them so that closing the server does not wait for them.
    app.addHook('preClose', async () => {
      for (const stream of open) stream.close();
    });

    app.get<{ Params: { owner: string }; Querystring: Query }>(
      '/v1/users/:owner/events',
      { schema: eventsSchemas.stream },
      async (request, reply) => {
        const events = options.events as LiveEvents;
        const { owner } = request.params;
        let kinds: EventKind[];
        try {
          kinds = parseKinds(request.query.kinds);
        } catch (err) {
          throw new HttpProblem(400, (err as Error).message);
        }
        const prefix = normalizePrefix(request.query.prefix);
        const afterSeq = resumePoint(request.headers['last-event-id'], request.query.lastEventId);
        const viewOf = () => options.call<EventView>(request, 'access.view', { owner }, { idempotent: true });
        let view = await viewOf();
        // The view is asked again: a grantee's every second (a revoked grant, or a deleted owner or watcher
        // account, stops its events within a second); the owner's every 5 s (its stream ends with its
        // user.deleted event anyway, and never shows another account's events).
        // The token too, every second: a revoked or expired token, or a deleted watcher, ends the stream.
        const recheck = setInterval(() => {
          const stillValid = request.credentialsStillValid;
          if (stillValid === null) return;
          stillValid().then(
            (valid) => {
              if (!valid) stream.close();
            },
            () => stream.close(),
          );
        }, TOKEN_RECHECK_MS);
        const refresh = setInterval(
          () => {
            viewOf().then(
              (next) => {
                // Another account has the owner's name now: this stream was opened on the earlier one.
                if (next.incarnation !== view.incarnation) stream.close();
                else view = next;
              },
              () => stream.close(),
            );
          },
          view.all ? OWNER_VIEW_REFRESH_MS : GRANTEE_VIEW_REFRESH_MS,
        );

        let subscription: Subscription | undefined;
        const stream = new SseStream({
          heartbeatMs: options.heartbeatMs,
          maxBufferBytes: options.maxBufferBytes,
          onClose: (reason) => {
            clearInterval(refresh);
            clearInterval(recheck);
            open.delete(stream);
            void subscription?.close();
            if (reason === 'overflow')
              request.log.warn({ owner }, 'event stream client fell behind: disconnected');
          },
        });
        try {
          subscription = await events.subscribe(
            owner,
            { ...(afterSeq === undefined ? {} : { afterSeq }), kinds },
            (event) => {
              if (!canSeeEvent(view, event)) return;
              if (matchesFilter(event, { prefix })) stream.event(event.seq, event);
              // The owner's account is gone: nothing more will come of it (a later account is another).
              if (event.kind === 'user.deleted') stream.close();
            },
          );
        } catch (err) {
          stream.close();
          if (err instanceof EventsUnavailableError) throw new HttpProblem(503, err.message, 2);
          throw err;
        }
        if (stream.ended) await subscription.close();
        else open.add(stream);
        reply.raw.on('close', () => stream.close());
        return reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache, no-transform')
          .header('x-accel-buffering', 'no')
          .send(stream.body);
      },
    );
  };
}
