/**
 * The body of a REQUEST: who asks (the authenticated principal, or null until authentication lands) and
 * the command's arguments. msgpack-encoded; only the worker decodes it.
 */
import { pack, unpack } from './codec.ts';

export interface CommandBody<A = Record<string, unknown>> {
  /** Username of the authenticated caller; null for anonymous (the authentication seam). */
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
