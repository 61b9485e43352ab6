/**
 * An owner's events from the JetStream stream, for one event-stream client: an ordered consumer
 * filtered to `podstore.events.<owner>.>` (or to the kinds asked for), starting right after the
 * sequence the client saw last, or at the next event. The client library recreates the consumer after
 * a NATS restart at the sequence after the last one delivered, so there are no gaps or duplicates.
 */
import type { Consumer, ConsumerMessages } from 'nats';
import {
  decodeEvent,
  EVENTS_STREAM,
  type EventKind,
  ownerSubjects,
  type SequencedEvent,
} from '../../protocol/events/event.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';

export interface SubscribeOptions {
  /** Resume after this sequence (the SSE Last-Event-ID); absent: from the next event on. */
  afterSeq?: number;
  kinds?: readonly EventKind[];
}

export interface Subscription {
  close(): Promise<void>;
}

/** Thrown when events cannot be served right now (NATS unreachable). */
export class EventsUnavailableError extends Error {
  override name = 'EventsUnavailableError';
}

const SUBSCRIBE_TIMEOUT_MS = 5000;

export class LiveEvents {
  constructor(
    private readonly link: NatsLink,
    private readonly logger: Logger,
  ) {}

  async subscribe(
    owner: string,
    options: SubscribeOptions,
    onEvent: (event: SequencedEvent) => void,
  ): Promise<Subscription> {
    const nc = this.link.connection;
    if (nc === undefined || !this.link.connected) throw new EventsUnavailableError('NATS is not reachable');
    let consumer: Consumer | undefined;
    const work = async (): Promise<ConsumerMessages> => {
      const jsm = await nc.jetstreamManager();
      const { state } = await jsm.streams.info(EVENTS_STREAM);
      // A Last-Event-ID past the end (the stream was reset) resumes at the next event.
      const start = Math.min((options.afterSeq ?? state.last_seq) + 1, state.last_seq + 1);
      consumer = await nc.jetstream().consumers.get(EVENTS_STREAM, {
        filterSubjects: ownerSubjects(owner, options.kinds),
        opt_start_seq: start,
      });
      return consumer.consume({
        max_messages: 256,
        expires: 5000,
        callback: (message) => {
          try {
            onEvent({ ...decodeEvent(message.data), seq: message.seq });
          } catch (err) {
            this.logger.warn({ err: (err as Error).message, seq: message.seq }, 'not an event: skipped');
          }
        },
      });
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EventsUnavailableError('NATS did not answer in time')),
        SUBSCRIBE_TIMEOUT_MS,
      );
    });
    // Closing the messages leaves the server's consumer until it idles out: delete it as well.
    const close = async (messages: ConsumerMessages) => {
      await messages.close().catch(() => {});
      await consumer?.delete().catch(() => {});
    };
    const pending = work();
    try {
      const messages = await Promise.race([pending, timeout]);
      return { close: () => close(messages) };
    } catch (err) {
      void pending.then(close).catch(() => {});
      if (err instanceof EventsUnavailableError) throw err;
      throw new EventsUnavailableError(`events are unavailable: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
