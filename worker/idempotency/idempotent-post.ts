/**
 * The hook for `files.post`: with an `idempotencyKey` argument (the api passes the Idempotency-Key
 * header, or a key of its own for a POST without one), the command runs under IdempotencyGuard;
 * without one, it just runs.
 */
import { createHash } from 'node:crypto';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { IdempotencyGuard } from './idempotency-guard.ts';

export function idempotentPost<T>(
  guard: IdempotencyGuard | undefined,
  args: Record<string, unknown>,
  actor: string | null,
  body: AsyncIterable<Buffer>,
  work: (body: AsyncIterable<Buffer>) => Promise<T>,
): Promise<T> {
  const key = args.idempotencyKey;
  if (guard === undefined || key === undefined) return work(body);
  if (typeof key !== 'string' || typeof args.owner !== 'string') {
    throw new CommandError(ErrorCode.INVALID, 'idempotencyKey and owner are text');
  }
  // Everything about the request but its body, which is compared by its SHA-256 as it streams.
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify(['files.post', args.owner, args.dir ?? '', args.slug ?? null, args.contentType ?? null]),
    )
    .digest('hex');
  // A key the api made up for a POST that came without one only has to outlive the api's replays.
  const ttlMs = typeof args.idempotencyTtlS === 'number' ? args.idempotencyTtlS * 1000 : undefined;
  return guard.run(
    { owner: args.owner, actor, key, fingerprint, ...(ttlMs === undefined ? {} : { ttlMs }) },
    body,
    work,
  );
}
