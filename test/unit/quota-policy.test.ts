/** The quota policy: limits, reservations, budgets and settlement as pure functions of a usage document. */
import { describe, expect, it } from 'vitest';
import {
  available,
  type BudgetRef,
  budgetsFor,
  effectiveLimits,
  emptyUsage,
  mayReserve,
  parseLimits,
  refunded,
  reservedTotal,
  settled,
  type UsageDocument,
  usageView,
  withLimits,
  withoutReservation,
  withReservation,
  writeDelta,
} from '../../worker/quota/quota-policy.ts';

const now = new Date('2026-11-30T12:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms).toISOString();
const defaults = { bytes: 1000, files: 3 };

function usage(used: { bytes: number; files: number }, extra: Partial<UsageDocument> = {}): UsageDocument {
  return { ...emptyUsage(now), used, ...extra };
}

const hold = (id: string, bytes: number, files = 0, budgets: BudgetRef[] = [], until = later(60_000)) => ({
  id,
  bytes,
  files,
  budgets,
  until,
});

const budget: BudgetRef = { grantee: 'hospital', scope: '/inbox/', grantedAt: 'g1', maxBytes: 300 };

describe('limits', () => {
  it('takes the operator override where there is one, the default elsewhere', () => {
    expect(effectiveLimits(usage({ bytes: 0, files: 0 }), defaults)).toEqual(defaults);
    expect(effectiveLimits(usage({ bytes: 0, files: 0 }, { limits: { bytes: 5 } }), defaults)).toEqual({
      bytes: 5,
      files: 3,
    });
  });

  it('parses overrides: whole numbers from 0, null for the default, nothing else', () => {
    expect(parseLimits({ bytes: 0, files: null })).toEqual({ bytes: 0, files: null });
    for (const bad of [
      null,
      [],
      'x',
      { bytes: -1 },
      { bytes: 1.5 },
      { bytes: '1' },
      { disk: 1 },
      { files: 2 ** 60 },
    ])
      expect(() => parseLimits(bad)).toThrow(TypeError);
  });

  it('sets, keeps and clears overrides', () => {
    const doc = withLimits(usage({ bytes: 0, files: 0 }), { bytes: 10, files: 2 }, now);
    expect(doc.limits).toEqual({ bytes: 10, files: 2 });
    expect(withLimits(doc, { files: 5 }, now).limits).toEqual({ bytes: 10, files: 5 });
    expect(withLimits(doc, { bytes: null }, now).limits).toEqual({ files: 2 });
  });
});

describe('reservations', () => {
  it('allows a hold that fits beside what is used and what others hold, and refuses one byte more', () => {
    const doc = usage({ bytes: 600, files: 1 }, { reservations: [hold('other', 300)] });
    expect(mayReserve(doc, defaults, { bytes: 100, files: 1 }, [], now)).toEqual({ allow: true });
    const refused = mayReserve(doc, defaults, { bytes: 101, files: 1 }, [], now);
    expect(refused.allow).toBe(false);
    expect(!refused.allow && refused.reason).toMatch(/storage quota is full/);
  });

  it('refuses a new file past the file limit even with no bytes', () => {
    const doc = usage({ bytes: 0, files: 2 }, { reservations: [hold('other', 0, 1)] });
    const verdict = mayReserve(doc, defaults, { bytes: 0, files: 1 }, [], now);
    expect(!verdict.allow && verdict.reason).toMatch(/file quota is full/);
    expect(mayReserve(doc, defaults, { bytes: 10, files: 0 }, [], now).allow).toBe(true);
  });

  it('lets expired holds count for nothing, and prunes them on the next change', () => {
    const doc = usage({ bytes: 900, files: 0 }, { reservations: [hold('dead', 100, 0, [], later(-1))] });
    expect(reservedTotal(doc, now)).toEqual({ bytes: 0, files: 0 });
    expect(mayReserve(doc, defaults, { bytes: 100, files: 0 }, [], now).allow).toBe(true);
    expect(withReservation(doc, hold('new', 100), now).reservations.map((r) => r.id)).toEqual(['new']);
  });

  it('replaces its own hold when growing it, instead of counting it twice', () => {
    const doc = withReservation(usage({ bytes: 0, files: 0 }), hold('me', 800), now);
    expect(mayReserve(doc, defaults, { bytes: 1000, files: 0 }, [], now, 'me').allow).toBe(true);
    expect(mayReserve(doc, defaults, { bytes: 1000, files: 0 }, [], now).allow).toBe(false);
    expect(available(doc, defaults, [], now, 'me')).toBe(1000);
    expect(available(doc, defaults, [], now)).toBe(200);
    expect(withReservation(doc, hold('me', 900), now).reservations).toHaveLength(1);
  });

  it('never reports negative room, even over a lowered limit', () => {
    expect(available(usage({ bytes: 5000, files: 0 }), defaults, [], now)).toBe(0);
    expect(usageView(usage({ bytes: 5000, files: 9 }), defaults, now).available).toEqual({
      bytes: 0,
      files: 0,
    });
  });
});

describe('grant budgets', () => {
  it('charges a write to every live entry covering its path that may add and names maxBytes', () => {
    const entries = [
      { scope: '/inbox/', modes: ['append'], maxBytes: 300, grantedAt: 'g1' },
      { scope: '/', modes: ['write'], maxBytes: 5000, grantedAt: 'g2' },
      { scope: '/inbox/', modes: ['read'], grantedAt: 'g3' },
      { scope: '/other/', modes: ['append'], maxBytes: 1, grantedAt: 'g4' },
      { scope: '/inbox/old/', modes: ['append'], maxBytes: 1, grantedAt: 'g5', expiresAt: later(-1) },
      { scope: '/inbox/', modes: ['append'], grantedAt: 'g6' },
    ];
    expect(budgetsFor('hospital', entries, 'inbox/old/lab.pdf', now)).toEqual([
      budget,
      { grantee: 'hospital', scope: '/', grantedAt: 'g2', maxBytes: 5000 },
    ]);
    expect(budgetsFor('hospital', entries, 'elsewhere.txt', now)).toHaveLength(1);
  });

  it('refuses what passes a budget, counting what was spent and what other uploads hold', () => {
    const spent = usage(
      { bytes: 0, files: 0 },
      {
        budgets: { hospital: { '/inbox/': { grantedAt: 'g1', spent: 200 } } },
        reservations: [hold('other', 50, 1, [budget])],
      },
    );
    expect(mayReserve(spent, defaults, { bytes: 50, files: 1 }, [budget], now).allow).toBe(true);
    const refused = mayReserve(spent, defaults, { bytes: 51, files: 1 }, [budget], now);
    expect(!refused.allow && refused.reason).toMatch(/grant's byte budget/);
    expect(available(spent, defaults, [budget], now)).toBe(50);
    // The owner's own writes are not bound by a grantee's budget.
    expect(mayReserve(spent, defaults, { bytes: 500, files: 1 }, [], now).allow).toBe(true);
  });

  it('bounds the new files a grantee adds with maxFiles, overwrites aside', () => {
    const files: BudgetRef = { grantee: 'hospital', scope: '/inbox/', grantedAt: 'g1', maxFiles: 2 };
    const doc = usage(
      { bytes: 0, files: 0 },
      {
        budgets: { hospital: { '/inbox/': { grantedAt: 'g1', spent: 0, files: 1 } } },
        reservations: [hold('other', 0, 1, [files])],
      },
    );
    const refused = mayReserve(doc, defaults, { bytes: 0, files: 1 }, [files], now);
    expect(!refused.allow && refused.reason).toMatch(/grant's file budget/);
    expect(mayReserve(doc, defaults, { bytes: 500, files: 0 }, [files], now).allow).toBe(true);
    expect(available(doc, defaults, [files], now)).toBe(1000);
    expect(
      budgetsFor(
        'hospital',
        [{ scope: '/inbox/', modes: ['append'], maxFiles: 2, grantedAt: 'g1' }],
        'inbox/a',
        now,
      ),
    ).toEqual([files]);
  });

  it('starts a re-granted entry with a fresh budget', () => {
    const doc = usage(
      { bytes: 0, files: 0 },
      { budgets: { hospital: { '/inbox/': { grantedAt: 'g1', spent: 300 } } } },
    );
    expect(mayReserve(doc, defaults, { bytes: 1, files: 0 }, [budget], now).allow).toBe(false);
    expect(
      mayReserve(doc, defaults, { bytes: 300, files: 0 }, [{ ...budget, grantedAt: 'g2' }], now).allow,
    ).toBe(true);
  });
});

describe('settling and refunds', () => {
  it('counts an overwrite by its size difference and a new file as one more', () => {
    expect(writeDelta(100, undefined)).toEqual({ bytes: 100, files: 1 });
    expect(writeDelta(100, { size: 300 })).toEqual({ bytes: -200, files: 0 });
  });

  it('moves a committed write into used and its budgets, and drops its hold', () => {
    const doc = withReservation(usage({ bytes: 100, files: 1 }), hold('me', 250, 1, [budget]), now);
    const after = settled(doc, 'me', { bytes: 200, files: 1 }, [budget], now);
    expect(after.used).toEqual({ bytes: 300, files: 2 });
    expect(after.reservations).toEqual([]);
    expect(after.budgets.hospital?.['/inbox/']).toEqual({ grantedAt: 'g1', spent: 200, files: 1 });
    // A shrinking overwrite gives bytes back to the pod, and spends nothing of a budget.
    const shrunk = settled(after, 'x', { bytes: -50, files: 0 }, [budget], now);
    expect(shrunk.used).toEqual({ bytes: 250, files: 2 });
    expect(shrunk.budgets.hospital?.['/inbox/']?.spent).toBe(200);
  });

  it('releases a failed write’s hold without counting anything', () => {
    const doc = withReservation(usage({ bytes: 100, files: 1 }), hold('me', 250, 1), now);
    const after = withoutReservation(doc, 'me', now);
    expect(after.used).toEqual({ bytes: 100, files: 1 });
    expect(after.reservations).toEqual([]);
  });

  it('gives a deleted file back, and lets a refund land before the settle of the file it removes', () => {
    expect(refunded(usage({ bytes: 100, files: 2 }), { bytes: 40, files: 1 }, now).used).toEqual({
      bytes: 60,
      files: 1,
    });
    // A file of 40 bytes committed, deleted, refunded, and only then settled: the sum comes out right.
    const held = withReservation(usage({ bytes: 10, files: 0 }), hold('create', 40, 1), now);
    const early = refunded(held, { bytes: 40, files: 1 }, now);
    expect(early.used).toEqual({ bytes: -30, files: -1 });
    expect(usageView(early, defaults, now).used).toEqual({ bytes: 0, files: 0 });
    expect(settled(early, 'create', { bytes: 40, files: 1 }, [], now).used).toEqual({ bytes: 10, files: 0 });
  });
});
