/**
 * A process's connection to NATS: connects in the background (start-up never waits for NATS, and a
 * server that is down at start is retried every second), reconnects forever, logs each change of
 * state once, and runs `onConnect` (e.g. creating streams) after every connect and reconnect.
 */
import { connect, Events, type NatsConnection } from 'nats';
import type { Logger } from './logger.ts';

export interface NatsLinkOptions {
  url: string;
  /** Client name shown by the server's monitoring pages, e.g. `podstore-api`. */
  name: string;
  logger: Logger;
  /** Runs after each (re)connect; retried a few times while JetStream is still starting. */
  onConnect?: (nc: NatsConnection) => Promise<void>;
}

const RETRY_MS = 1000;
const ON_CONNECT_ATTEMPTS = 20;

export class NatsLink {
  #nc: NatsConnection | undefined;
  #connected = false;
  #closed = false;
  #ready: Promise<NatsConnection>;
  #resolveReady!: (nc: NatsConnection) => void;

  constructor(private readonly options: NatsLinkOptions) {
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  /** The connection, once made (it may be reconnecting: see `connected`). */
  get connection(): NatsConnection | undefined {
    return this.#nc;
  }

  /** True while connected to a server. */
  get connected(): boolean {
    return this.#connected && this.#nc !== undefined && !this.#nc.isClosed();
  }

  /** Resolves after the first connect and its `onConnect`. */
  ready(): Promise<NatsConnection> {
    return this.#ready;
  }

  start(): void {
    void this.#connectLoop();
  }

  /** Drains the connection (pending publishes are flushed); idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) return;
    await nc.drain().catch(() => nc.close());
  }

  async #connectLoop(): Promise<void> {
    const { url, name, logger } = this.options;
    let warned = false;
    while (!this.#closed) {
      try {
        const nc = await connect({
          servers: url,
          name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          timeout: 2000,
          // nats.js otherwise makes an Error (a stack trace) for every request and JetStream publish,
          // only to enrich a timeout's message: it was the client's largest cost in the echo profile.
          // Our own logs carry the context (request id, subject) instead.
          noAsyncTraces: true,
        });
        if (this.#closed) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        this.#connected = true;
        logger.info({ nats: nc.getServer() }, 'connected to NATS');
        void this.#watch(nc);
        await this.#runOnConnect(nc);
        this.#resolveReady(nc);
        return;
      } catch (err) {
        if (!warned) logger.warn({ nats: url, err: (err as Error).message }, 'NATS not reachable; retrying');
        warned = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    const { logger } = this.options;
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        this.#connected = false;
        logger.warn({ nats: String(status.data) }, 'NATS disconnected; reconnecting');
      } else if (status.type === Events.Reconnect) {
        this.#connected = true;
        logger.info({ nats: String(status.data) }, 'reconnected to NATS');
        void this.#runOnConnect(nc);
      }
    }
  }

  async #runOnConnect(nc: NatsConnection): Promise<void> {
    const { onConnect, logger } = this.options;
    if (onConnect === undefined) return;
    for (let attempt = 1; attempt <= ON_CONNECT_ATTEMPTS && !nc.isClosed(); attempt++) {
      try {
        await onConnect(nc);
        return;
      } catch (err) {
        if (attempt === ON_CONNECT_ATTEMPTS) {
          logger.error({ err: (err as Error).message }, 'NATS set-up failed');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * Math.min(attempt, 4)));
      }
    }
  }
}
