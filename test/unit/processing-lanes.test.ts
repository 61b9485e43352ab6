/**
 * The processing lanes' pure parts: a pod's lane (stable, spread over the lanes) and a job's subject.
 */
import { describe, expect, it } from 'vitest';
import { jobSubject, laneOf, PROCESSING_LANES } from '../../worker/processing/processing-lanes.ts';

describe('laneOf', () => {
  it('is FNV-1a of the name modulo the lanes (the reference values of FNV-1a 32)', () => {
    // FNV-1a 32 of "a" is 0xe40c292c, of "foobar" 0xbf9cf968.
    expect(laneOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    expect(laneOf('foobar', 1000)).toBe(0xbf9cf968 % 1000);
  });

  it('always puts a pod in the same lane, and spreads 1,000 pods over every lane', () => {
    const counts = new Array(PROCESSING_LANES).fill(0);
    for (let i = 0; i < 1000; i++) {
      const lane = laneOf(`user${i}`);
      expect(laneOf(`user${i}`)).toBe(lane);
      counts[lane]++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(1000 / PROCESSING_LANES / 2);
  });
});

describe('jobSubject', () => {
  it('puts a file event of a pod in that pod’s lane, keeping the rest of its subject', () => {
    expect(jobSubject('podstore.events.alice.file.created')).toBe(
      `podstore.processing.${laneOf('alice')}.alice.file.created`,
    );
  });

  it('takes no other subject', () => {
    expect(jobSubject('podstore.events.alice.grant.changed')).toBeUndefined();
    expect(jobSubject('podstore.events.alice')).toBeUndefined();
    expect(jobSubject('other.events.alice.file.created')).toBeUndefined();
  });
});
