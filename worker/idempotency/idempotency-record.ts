/**
 * What the store keeps for one Idempotency-Key: `users/<owner>/idempotency/<sha256>.json`, where the
 * hash covers the caller, the key and the owner's and caller's account incarnations (each caller has keys
 * of their own, and a later account of the same name never finds an earlier one's; the key itself never
 * becomes part of an object name). A record is `running` while its first request runs, under a lease the running
 * worker keeps renewing, then `done` with the first result, until it expires.
 */
import { createHash } from 'node:crypto';

export interface RunningRecord {
  v: 1;
  state: 'running';
  /** Hash of the request apart from its body (command, folder, slug, content type). */
  fingerprint: string;
  /** Until when the running worker vouches for it, ms since the epoch; past it, another may take over. */
  leaseUntil: number;
  expiresAt: number;
  createdAt: string;
}

export interface DoneRecord {
  v: 1;
  state: 'done';
  fingerprint: string;
  /** SHA-256 (hex) of the body of the first request. */
  bodySha256: string;
  /** The first request's value, answered again to a retry. */
  result: unknown;
  expiresAt: number;
  createdAt: string;
  completedAt: string;
}

export type IdempotencyRecord = RunningRecord | DoneRecord;

export const idempotencyPrefix = (owner: string) => `users/${owner}/idempotency/`;

/** `accounts`: the owner's and the caller's account incarnations (empty: keyed by names only). */
export function recordKey(owner: string, actor: string | null, key: string, accounts = ''): string {
  const hash = createHash('sha256')
    .update(accounts === '' ? `${actor ?? ''}\n${key}` : `${actor ?? ''}\n${key}\n${accounts}`)
    .digest('hex');
  return `${idempotencyPrefix(owner)}${hash}.json`;
}

/** The record, or undefined if the bytes are not one (a damaged record is as good as none). */
export function parseRecord(body: Buffer): IdempotencyRecord | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as Partial<IdempotencyRecord> | null;
    if (value?.v !== 1 || typeof value.fingerprint !== 'string' || typeof value.expiresAt !== 'number') {
      return undefined;
    }
    if (value.state === 'running' && typeof value.leaseUntil === 'number') return value as RunningRecord;
    if (value.state === 'done' && typeof value.bodySha256 === 'string') return value as DoneRecord;
    return undefined;
  } catch {
    return undefined;
  }
}

export const serializeRecord = (record: IdempotencyRecord): Buffer => Buffer.from(JSON.stringify(record));
