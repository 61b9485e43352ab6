/** The chaos run's bookkeeping: what a path may hold after acknowledged and failed writes, and the verdict. */
import { describe, expect, it } from 'vitest';
import { MIX, pick } from '../../bench/chaos/chaos-mix.ts';
import { ChaosTally, figuresOf, transferFigures, verdictOf } from '../../bench/chaos/chaos-tally.ts';
import { seededRandom as seeded } from '../../bench/chaos/seeded-random.ts';
import { ABSENT, WriteLedger } from '../../bench/chaos/write-ledger.ts';

describe('WriteLedger', () => {
  it('allows only the last acknowledged bytes, plus those of failed writes since', () => {
    const ledger = new WriteLedger();
    ledger.record('a', 'h1', true, '"e1"');
    ledger.record('a', 'h2', true, '"e2"');
    expect(ledger.check('a', 'h2').ok).toBe(true);
    expect(ledger.check('a', 'h1').ok).toBe(false); // overwritten and acknowledged: must be gone
    ledger.record('a', 'h3', false); // may or may not have landed
    expect(ledger.allowed('a')).toEqual(['h2', 'h3']);
    expect(ledger.etagOf('a')).toBeUndefined();
    expect(ledger.certainlyExists('a')).toBe(false);
    ledger.record('a', ABSENT, true);
    expect(ledger.allowed('a')).toEqual([ABSENT]);
    expect(ledger.check('never-written', ABSENT).ok).toBe(true);
  });

  it('knows the ETag a conditional change may name only while it is certain', () => {
    const ledger = new WriteLedger();
    ledger.record('a', 'h1', true, '"e1"');
    expect(ledger.etagOf('a')).toBe('"e1"');
    ledger.recordMetadata('a', '"e2"');
    expect(ledger.etagOf('a')).toBe('"e2"');
    ledger.recordMetadata('a', undefined);
    expect(ledger.etagOf('a')).toBeUndefined();
  });
});

describe('chaos verdict', () => {
  const at = 1;
  const run = (answers: { status: number; idempotent: boolean; retryAfter: boolean }[], intact = 10) => {
    const tally = new ChaosTally();
    for (let i = 0; i < 2000; i++)
      tally.record({ op: 'get', status: 200, idempotent: true, retryAfter: false, at });
    for (const a of answers) tally.record({ op: 'x', at, ...a });
    return verdictOf(
      figuresOf(
        tally,
        { checked: 10, intact, wrong: [] },
        Array.from({ length: 12 }, (_, i) => i + 1),
      ),
      {
        maxErrorRate: 0.001,
        minKills: 11,
      },
    );
  };

  it('passes a run whose only failure is a non-idempotent 503 with Retry-After', () => {
    expect(run([{ status: 503, idempotent: false, retryAfter: true }])).toEqual({ pass: true, broken: [] });
  });

  it('names every rule broken', () => {
    const verdict = run(
      [
        { status: 503, idempotent: true, retryAfter: true },
        { status: 500, idempotent: false, retryAfter: false },
        { status: 503, idempotent: false, retryAfter: false },
      ],
      9,
    );
    expect(verdict.pass).toBe(false);
    expect(verdict.broken).toEqual([
      '1 of 10 writes not read back intact',
      '1 idempotent requests failed',
      '2 failures were not a 503 with Retry-After',
      'error rate 0.150 % is not under 0.100 %',
    ]);
  });
});

describe('large transfers and abandoned uploads', () => {
  const transfer = (op: string, startS: number, endS: number, ok = true, retries = 0) => ({
    op,
    startS,
    endS,
    bytes: 4 * 2 ** 20,
    ok,
    retries,
  });

  it('counts per operation the transfers under way at a kill (started before it, ended after)', () => {
    const figures = transferFigures(
      [
        transfer('resumable', 0.5, 2.5),
        transfer('resumable', 2.5, 3.5, true, 2),
        transfer('long-download', 3.5, 5.9, false),
        transfer('long-download', 6.0, 7.0),
      ],
      [3, 6],
    );
    expect(figures).toEqual({
      resumable: { ran: 2, succeeded: 2, duringKills: 1, retried: 1, mib: 8, longestS: 2 },
      'long-download': { ran: 2, succeeded: 1, duringKills: 1, retried: 0, mib: 8, longestS: 2.4 },
    });
  });

  it('fails a run in which a kind of large transfer never ran, or an abandoned upload outlived its expiry', () => {
    const tally = new ChaosTally();
    tally.record({ op: 'resumable', status: 201, idempotent: true, retryAfter: false, at: 1 });
    tally.transfers.push(transfer('resumable', 1, 2));
    const figures = figuresOf(tally, { checked: 1, intact: 1, wrong: [] }, [1.5]);
    const rules = { maxErrorRate: 0.001, minKills: 1, transfers: ['resumable', 'long-download'] };
    figures.abandoned = { uploads: 3, objectsBefore: 12, objectsLeft: 2, leftKeys: [], goneAfterExpiryS: 30 };
    expect(verdictOf(figures, rules).broken).toEqual([
      'no long-download transfer ran',
      '2 objects of 3 abandoned uploads left after their expiry',
    ]);
    figures.abandoned = { uploads: 3, objectsBefore: 0, objectsLeft: 0, leftKeys: [], goneAfterExpiryS: 0 };
    expect(verdictOf(figures, { ...rules, transfers: ['resumable'] }).broken).toEqual([
      'the abandoned uploads left nothing to check',
    ]);
  });
});

describe('chaos mix', () => {
  it('repeats the same operations for the same seed and follows the weights', () => {
    const a = seeded(3);
    const b = seeded(3);
    const first = Array.from({ length: 20 }, () => pick(a));
    expect(Array.from({ length: 20 }, () => pick(b))).toEqual(first);
    const counts: Record<string, number> = {};
    const r = seeded(11);
    for (let i = 0; i < 100_000; i++) {
      const name = pick(r);
      counts[name] = (counts[name] ?? 0) + 1;
    }
    const total = Object.values(MIX).reduce((x, y) => x + y, 0);
    for (const [name, weight] of Object.entries(MIX))
      expect(Math.abs((counts[name] ?? 0) / 100_000 - weight / total)).toBeLessThan(0.01);
  });
});
