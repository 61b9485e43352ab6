/**
 * Publishes events to the JetStream event stream, in the order they were committed. Events wait in a
 * bounded in-memory outbox while NATS is away and go out, in order, once it is back; the event id is
 * the JetStream message id, so an event re-sent after a lost acknowledgement is stored once. A caller
 * waits for the acknowledgement at most `waitMs`, so a NATS outage never holds a committed change.
 */
import type { NatsConnection } from 'nats';
import { encodeEvent, eventSubject, type PodEvent } from '../../protocol/events/event.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';
import { commandScope } from './command-scope.ts';
import { completeEvent, type EventInput, type EventPublisher } from './event-publisher.ts';

export interface JetStreamPublisherOptions {
  /** Events kept while NATS is away; past it new events are dropped (and logged). */
  maxQueue: number;
  /** How long `publish` waits for the acknowledgement before resolving anyway. */
  waitMs: number;
  /** Deadline of one publish attempt. */
  attemptTimeoutMs: number;
  /** Called when the stream seems missing (no responders), to create it again. */
  recreateStream?: (nc: NatsConnection) => Promise<void>;
  /** The owner's account incarnation, for events published without one; undefined: the owner is gone. */
  incarnationOf?: (owner: string) => Promise<string | undefined>;
}

interface Pending {
  event: PodEvent;
  /** The owner's incarnation, being looked up (undefined: the account is gone, the event is dropped). */
  tag?: Promise<string | undefined>;
  done: () => void;
}

const defaults: JetStreamPublisherOptions = { maxQueue: 10_000, waitMs: 1000, attemptTimeoutMs: 2000 };

export class JetStreamEventPublisher implements EventPublisher {
  readonly #queue: Pending[] = [];
  readonly #options: JetStreamPublisherOptions;
  #pumping = false;
  #dropped = 0;

  constructor(
    private readonly link: NatsLink,
    private readonly logger: Logger,
    options: Partial<JetStreamPublisherOptions> = {},
  ) {
    this.#options = { ...defaults, ...options };
  }

  /** Events not yet acknowledged by JetStream. */
  get queued(): number {
    return this.#queue.length;
  }

  publish(input: EventInput): Promise<void> {
    const event = completeEvent(input);
    if (this.#queue.length >= this.#options.maxQueue) {
      this.#dropped++;
      this.logger.error(
        {
          kind: event.kind,
          owner: event.owner,
          dropped: this.#dropped,
          requestId: commandScope.getStore()?.requestId,
        },
        'event outbox full: event dropped',
      );
      return Promise.resolve();
    }
    const lookup = this.#options.incarnationOf;
    const tag =
      event.incarnation !== undefined || lookup === undefined
        ? undefined
        : lookup(event.owner).catch((err: unknown) => {
            this.logger.warn(
              { err: (err as Error).message, owner: event.owner },
              'event owner not looked up',
            );
            return undefined;
          });
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#options.waitMs);
      this.#queue.push({
        event,
        ...(tag === undefined ? {} : { tag }),
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      void this.#pump();
    });
  }

  /** Waits until the outbox is empty, or `timeoutMs` passed; resolves to the events left. */
  async flush(timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.#queue.length > 0 && Date.now() < until) await sleep(20);
    return this.#queue.length;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    let failures = 0;
    try {
      for (let item = this.#queue[0]; item !== undefined; item = this.#queue[0]) {
        if (item.tag !== undefined) {
          const incarnation = await item.tag;
          delete item.tag;
          if (incarnation === undefined) {
            // Nobody owns the pod any more (being erased): its event would reach nobody, or a later owner.
            this.#queue.shift();
            item.done();
            continue;
          }
          item.event = { ...item.event, incarnation };
        }
        const nc = this.link.connection;
        if (nc !== undefined && this.link.connected) {
          try {
            await nc
              .jetstream()
              .publish(eventSubject(item.event.owner, item.event.kind), encodeEvent(item.event), {
                msgID: item.event.id,
                timeout: this.#options.attemptTimeoutMs,
              });
            this.#queue.shift();
            item.done();
            if (failures > 0) this.logger.info({ queued: this.#queue.length }, 'publishing events again');
            failures = 0;
            continue;
          } catch (err) {
            if (failures === 0) {
              this.logger.warn(
                { err: (err as Error).message, queued: this.#queue.length },
                'event publish failed; retrying',
              );
            }
            if (/no responders|stream not found/i.test((err as Error).message)) {
              await this.#options.recreateStream?.(nc).catch(() => {});
            }
          }
        }
        failures++;
        await sleep(Math.min(100 * 2 ** Math.min(failures, 5), 2000));
      }
    } finally {
      this.#pumping = false;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
