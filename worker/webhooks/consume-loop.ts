/**
 * Runs a handler over a durable JetStream consumer that several workers share (each message goes to
 * one of them), with at most `concurrency` messages in hand. Survives NATS restarts (the client
 * re-pulls after reconnecting; a lost consumer is looked up again), and stops cleanly.
 */
import type { ConsumerMessages, JsMsg } from 'nats';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';

export interface ConsumeLoopOptions {
  stream: string;
  durable: string;
  concurrency: number;
  handle: (message: JsMsg) => Promise<void>;
}

export class ConsumeLoop {
  #messages: ConsumerMessages | undefined;
  #stopped = false;
  #inHand = 0;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly options: ConsumeLoopOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#done = this.#run();
  }

  /** Stops pulling, then waits (at most `graceMs`) for the messages in hand. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close().catch(() => {});
    this.#wake?.();
    const until = Date.now() + graceMs;
    while (this.#inHand > 0 && Date.now() < until) await sleep(20);
    // The loop may be waiting for a NATS that never came: do not wait for it past the grace period.
    await Promise.race([this.#done, sleep(Math.max(0, until - Date.now()))]);
  }

  async #run(): Promise<void> {
    const { stream, durable, concurrency } = this.options;
    const nc = await this.link.ready();
    while (!this.#stopped) {
      try {
        const consumer = await nc.jetstream().consumers.get(stream, durable);
        this.#messages = await consumer.consume({ max_messages: concurrency, expires: 10_000 });
        for await (const message of this.#messages) {
          while (this.#inHand >= concurrency && !this.#stopped) {
            await new Promise<void>((resolve) => {
              this.#wake = resolve;
            });
          }
          if (this.#stopped) {
            message.nak();
            break;
          }
          this.#inHand++;
          void this.options
            .handle(message)
            .catch((err: unknown) => {
              this.logger.error({ err, durable }, 'event handler failed');
              message.nak(1000);
            })
            .finally(() => {
              this.#inHand--;
              this.#wake?.();
            });
        }
        if (!this.#stopped) await sleep(1000); // the consumer went away: look it up again
      } catch (err) {
        if (this.#stopped) break;
        this.logger.warn({ err: (err as Error).message, durable }, 'event consumer stopped; restarting');
        await sleep(1000);
      }
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
