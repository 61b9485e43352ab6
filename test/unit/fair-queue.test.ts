import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../broker/fair-queue.ts';
import { RequestQueues } from '../../broker/request-queue.ts';

interface Item {
  caller: string;
  n: number;
}
const item = (caller: string, n: number): Item => ({ caller, n });
const drain = <T>(q: { shift(): T | undefined }): T[] => {
  const out: T[] = [];
  for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
  return out;
};
const label = (i: Item) => `${i.caller}${i.n}`;

describe('FairQueue', () => {
  it("serves callers in turn: one caller's long backlog delays another by one item per turn", () => {
    const q = new FairQueue<Item>(1000, 1000, (i) => i.caller);
    for (let n = 1; n <= 50; n++) q.push(item('hostile', n));
    q.push(item('victim', 1));
    q.push(item('other', 1));
    q.push(item('victim', 2));
    const order = drain(q).map(label);
    expect(order.slice(0, 6)).toEqual(['hostile1', 'victim1', 'other1', 'hostile2', 'victim2', 'hostile3']);
    expect(order).toHaveLength(53);
    expect(order.slice(6).every((s) => s.startsWith('hostile'))).toBe(true);
    expect(q.size).toBe(0);
  });

  it('keeps FIFO order within one caller', () => {
    const q = new FairQueue<Item>(100, 100, (i) => i.caller);
    for (let n = 1; n <= 5; n++) q.push(item('a', n));
    expect(drain(q).map((i) => i.n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('bounds each caller, then the whole queue, and says which bound refused', () => {
    const q = new FairQueue<Item>(5, 2, (i) => i.caller);
    expect(q.push(item('a', 1))).toBe('queued');
    expect(q.push(item('a', 2))).toBe('queued');
    expect(q.push(item('a', 3))).toBe('caller_full');
    expect(q.push(item('b', 1))).toBe('queued');
    expect(q.push(item('b', 2))).toBe('queued');
    expect(q.push(item('c', 1))).toBe('queued');
    expect(q.push(item('d', 1))).toBe('full');
    expect(q.size).toBe(5);
    expect(q.depthOf('a')).toBe(2);
    q.shift();
    expect(q.push(item('d', 1))).toBe('queued');
  });

  it('serves put-back items first, whatever the bounds', () => {
    const q = new FairQueue<Item>(1, 1, (i) => i.caller);
    q.push(item('a', 1));
    q.pushFront(item('b', 9));
    expect(q.size).toBe(2);
    expect(drain(q).map(label)).toEqual(['b9', 'a1']);
  });

  it('removes what a predicate picks and keeps the turns of the rest', () => {
    const q = new FairQueue<Item>(100, 100, (i) => i.caller);
    q.push(item('a', 1));
    q.push(item('b', 1));
    q.push(item('a', 2));
    q.pushFront(item('c', 1));
    const removed = q.removeWhere((i) => i.n === 1 && i.caller !== 'b');
    expect(removed.map(label).sort()).toEqual(['a1', 'c1']);
    expect(q.size).toBe(2);
    expect(drain(q).map(label)).toEqual(['a2', 'b1']);
  });
});

describe('RequestQueues', () => {
  it('keeps lanes apart: a full transfer lane does not refuse commands or token checks', () => {
    const q = new RequestQueues<Item>({ maxPerService: 3, maxPerCaller: 3 }, (i) => i.caller);
    for (let n = 1; n <= 3; n++) expect(q.push('files', 'transfer', item('h', n))).toBe('queued');
    expect(q.push('files', 'transfer', item('v', 1))).toBe('full');
    expect(q.push('files', 'command', item('v', 1))).toBe('queued');
    expect(q.push('files', 'priority', item('v', 2))).toBe('queued');
    expect(q.depth('files')).toBe(5);
    expect(q.depth('files', 'transfer')).toBe(3);
    expect(q.shift('files', 'priority')).toEqual(item('v', 2));
    expect(q.shift('files', 'command')).toEqual(item('v', 1));
    expect(q.shift('users', 'command')).toBeUndefined();
    expect(q.removeWhere((_, service) => service === 'files')).toHaveLength(3);
    expect(q.depth('files')).toBe(0);
  });
});
