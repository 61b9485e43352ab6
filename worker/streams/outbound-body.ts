/**
 * A download as the worker sends it: reads `source`, coalesces its chunks into parts of up to
 * `chunkBytes`, and sends each as a `data` part only against credit from the client. A client that stops
 * granting credit stops the reading (and so the storage read) instead of filling memory; a cancel or an
 * idle client ends the transfer and destroys the source.
 */
import { type ClientPart, type RequestChannel, StreamAbortedError } from './request-channel.ts';

export interface OutboundOptions {
  /** Credit the client granted with the request itself. */
  initialCredit: number;
  chunkBytes: number;
  idleMs: number;
}

export async function sendBody(
  channel: RequestChannel,
  source: NodeJS.ReadableStream & { destroy?: (error?: Error) => void },
  options: OutboundOptions,
): Promise<number> {
  let credit = options.initialCredit;
  let sent = 0;
  const absorb = (part: ClientPart) => {
    if (part.part === 'credit') credit += part.credit ?? 0;
    else if (part.part === 'cancel') throw new StreamAbortedError('the client cancelled the download');
  };
  /** Takes in whatever the client sent meanwhile, then waits until there is credit. */
  const take = async () => {
    for (let part = channel.poll(); part !== undefined; part = channel.poll()) absorb(part);
    while (credit === 0) absorb(await channel.next(options.idleMs));
  };
  const flush = async (chunk: Buffer) => {
    await take();
    credit--;
    sent += chunk.length;
    await channel.sendPart('data', chunk);
  };
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const raw of source) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= options.chunkBytes) {
        await flush(pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pendingBytes > 0) await flush(Buffer.concat(pending, pendingBytes));
    return sent;
  } catch (error) {
    source.destroy?.(error as Error);
    throw error;
  }
}
