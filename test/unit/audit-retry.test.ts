/** The owed audit entries' queue: bounded, retried with growing delays, given up (and reported) after a while. */
import { describe, expect, it } from 'vitest';
import { AuditRetryQueue } from '../../worker/access/audit-retry.ts';

function queue(
  writeFails: () => boolean,
  options = { maxEntries: 2, maxAgeMs: 10_000, baseDelayMs: 1000, maxDelayMs: 4000 },
) {
  let now = 0;
  const events: string[] = [];
  const written: string[] = [];
  const q = new AuditRetryQueue<string>(
    async (item) => {
      if (writeFails()) throw new Error('store down');
      written.push(item);
    },
    (event, item) => events.push(`${event}:${item}`),
    options,
    () => now,
  );
  return { q, events, written, at: (ms: number) => (now = ms) };
}

describe('owed audit entries', () => {
  it('are retried once due, with doubling delays, and written when the store answers', async () => {
    let down = true;
    const { q, events, written, at } = queue(() => down);
    q.add('a', new Error('down'));
    await q.retryDue(); // not due yet (1 s)
    at(1000);
    await q.retryDue(); // due, fails: next in 2 s
    at(2500);
    await q.retryDue(); // not due
    expect(written).toEqual([]);
    down = false;
    at(3000);
    await q.retryDue();
    expect(written).toEqual(['a']);
    expect(events).toEqual(['retrying:a', 'written:a']);
    expect(q.size).toBe(0);
  });

  it('gives an entry up after maxAgeMs and when the queue is full, reporting it as lost', async () => {
    const { q, events, at } = queue(() => true);
    q.add('a', new Error('down'));
    q.add('b', new Error('down'));
    q.add('c', new Error('down')); // full
    expect(events).toEqual(['retrying:a', 'retrying:b', 'lost:c']);
    at(10_000);
    await q.retryDue();
    expect(events.slice(3)).toEqual(['lost:a', 'lost:b']);
    expect(q.size).toBe(0);
  });
});
