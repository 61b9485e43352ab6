/**
 * Idempotent JetStream set-up: streams and durable consumers are created when missing and brought to
 * the wanted settings when present, so whichever process starts first creates them and concurrent
 * starts do not conflict.
 */
import {
  type ConsumerConfig,
  type JetStreamManager,
  NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from 'nats';
import { ALL_EVENTS_SUBJECT, EVENTS_STREAM } from './event.ts';

const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_NOT_FOUND = 10014;

/** The event stream: file storage, every `podstore.events.>` subject, events older than maxAge dropped. */
export function eventStreamConfig(maxAgeS: number): Partial<StreamConfig> & { name: string } {
  return limitsStream(EVENTS_STREAM, [ALL_EVENTS_SUBJECT], maxAgeS, RetentionPolicy.Limits);
}

export function limitsStream(
  name: string,
  subjects: string[],
  maxAgeS: number,
  retention: RetentionPolicy,
): Partial<StreamConfig> & { name: string } {
  const maxAgeMs = maxAgeS * 1000;
  return {
    name,
    subjects,
    retention,
    storage: StorageType.File,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, maxAgeMs)),
    num_replicas: 1,
  };
}

const apiCode = (err: unknown) => (err instanceof NatsError ? err.api_error?.err_code : undefined);

/** Creates the stream, or updates its subjects and limits when they differ. */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<'created' | 'updated' | 'unchanged'> {
  try {
    const info = await jsm.streams.info(config.name);
    const same =
      info.config.max_age === config.max_age &&
      JSON.stringify(info.config.subjects) === JSON.stringify(config.subjects);
    if (same) return 'unchanged';
    await jsm.streams.update(config.name, {
      ...info.config,
      subjects: config.subjects ?? info.config.subjects,
      max_age: config.max_age ?? info.config.max_age,
      duplicate_window: config.duplicate_window ?? info.config.duplicate_window,
    });
    return 'updated';
  } catch (err) {
    if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
  }
  try {
    await jsm.streams.add(config);
    return 'created';
  } catch (err) {
    if (apiCode(err) === STREAM_NAME_IN_USE) return 'unchanged'; // another process created it just now
    throw err;
  }
}

/** The settings of a durable consumer that `ensureDurableConsumer` keeps as wanted. */
const UPDATABLE = ['ack_wait', 'max_deliver', 'max_ack_pending', 'description'] as const;

/**
 * Creates the durable consumer, or updates its updatable settings when they differ (a worker that
 * reconnects finds them as it left them: one info call each, no update).
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<'created' | 'updated' | 'unchanged'> {
  try {
    const info = await jsm.consumers.info(stream, config.durable_name);
    const current = info.config as Partial<ConsumerConfig>;
    if (UPDATABLE.every((key) => config[key] === undefined || config[key] === current[key]))
      return 'unchanged';
  } catch (err) {
    if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
    try {
      await jsm.consumers.add(stream, config);
      return 'created';
    } catch {
      // another process created it just now, perhaps with other settings: update below
    }
  }
  const { ack_wait, max_deliver, max_ack_pending, description } = config;
  await jsm.consumers.update(stream, config.durable_name, {
    ...(ack_wait === undefined ? {} : { ack_wait }),
    ...(max_deliver === undefined ? {} : { max_deliver }),
    ...(max_ack_pending === undefined ? {} : { max_ack_pending }),
    ...(description === undefined ? {} : { description }),
  });
  return 'updated';
}
