import { describe, expect, it } from 'vitest';
import { BatchingPeers } from '../../broker/batching-peers.ts';

describe('BatchingPeers', () => {
  it('remembers the peers that read batches, and nobody else', () => {
    const peers = new BatchingPeers();
    peers.add(Buffer.from([0, 1, 2, 3, 4]));
    expect(peers.has(Buffer.from([0, 1, 2, 3, 4]))).toBe(true);
    expect(peers.has(Buffer.from([0, 1, 2, 3, 5]))).toBe(false);
    expect(peers.has(undefined)).toBe(false);
  });

  it('is bounded: past its size the peer that said so longest ago is forgotten', () => {
    const peers = new BatchingPeers(3);
    for (let i = 0; i < 5; i++) peers.add(Buffer.of(i));
    expect(peers.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => peers.has(Buffer.of(i)))).toEqual([false, false, true, true, true]);
    peers.add(Buffer.of(0)); // says so again: remembered again
    expect(peers.has(Buffer.of(0))).toBe(true);
    expect(peers.size).toBe(3);
  });
});
