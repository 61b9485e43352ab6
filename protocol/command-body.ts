/**
 * The body of a REQUEST: who asks (the authenticated principal, or null for a request without a token) and
 * the command's arguments. msgpack-encoded; only the worker decodes it.
 */
import { pack, unpack } from './codec.ts';

export interface CommandBody<A = Record<string, unknown>> {
  /** Username of the authenticated caller (`admin` for the operator); null for a request without a token. */
  actor: string | null;
  args: A;
}

export function encodeCommandBody(body: CommandBody<object>): Buffer {
  return pack(body);
}

export function decodeCommandBody(bytes: Buffer): CommandBody {
  const value = unpack(bytes) as Partial<CommandBody> | null;
  if (value === null || typeof value !== 'object' || typeof value.args !== 'object' || value.args === null) {
    throw new TypeError('command body needs args');
  }
  const actor = typeof value.actor === 'string' ? value.actor : null;
  return { actor, args: value.args as Record<string, unknown> };
}
