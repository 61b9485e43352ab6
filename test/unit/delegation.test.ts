import { describe, expect, it } from 'vitest';
import { type GrantEntry, modesAt } from '../../worker/access/access-policy.ts';
import {
  boundToDelegator,
  clipToDelegator,
  type DelegatedEntry,
  type DelegationDocument,
  delegableUntil,
  delegatorsOf,
  effectiveGrants,
  heldUntil,
  narrowedByDelegator,
} from '../../worker/access/delegation.ts';

const now = new Date('2026-06-01T00:00:00Z');
const at = (iso: string) => new Date(iso).toISOString();
const JULY = at('2026-07-01T00:00:00Z');
const AUGUST = at('2026-08-01T00:00:00Z');
const MAY = at('2026-05-01T00:00:00Z');

const byOwner = (entry: GrantEntry): DelegatedEntry => ({ ...entry, grantedBy: 'patient' });
const by = (delegator: string, entry: GrantEntry, delegatorGrant?: string): DelegatedEntry => ({
  ...entry,
  grantedBy: delegator,
  ...(delegatorGrant === undefined ? {} : { delegatorGrant }),
});
const pod = (docs: Record<string, DelegatedEntry[] | DelegationDocument>) =>
  new Map<string, DelegationDocument>(
    Object.entries(docs).map(([name, d]) => [name, Array.isArray(d) ? { entries: d } : d]),
  );
/** The effective entries of `who`, as scope, modes and expiry. */
const effective = (docs: Map<string, DelegationDocument>, who: string, depth = 4): GrantEntry[] =>
  (effectiveGrants('patient', docs, now, depth).get(who) ?? []).map(({ scope, modes, expiresAt }) => ({
    scope,
    modes,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }));
const modes = (entries: GrantEntry[], path: string) => [...modesAt(entries, path, now)].sort();

describe('heldUntil and delegableUntil', () => {
  const held: GrantEntry[] = [
    { scope: '/', modes: ['read'], expiresAt: JULY },
    { scope: '/medical/', modes: ['read', 'control'], expiresAt: AUGUST },
    { scope: '/medical/', modes: ['append'] },
    { scope: '/', modes: ['delete'], expiresAt: MAY },
  ];
  it('is the latest expiry among live entries holding the mode over all of the scope', () => {
    expect(heldUntil(held, '/medical/2025/', 'read', now)).toBe(Date.parse(AUGUST));
    expect(heldUntil(held, '/notes/', 'read', now)).toBe(Date.parse(JULY));
    expect(heldUntil(held, '/medical/', 'append', now)).toBe(Number.POSITIVE_INFINITY);
    expect(heldUntil(held, '/', 'append', now)).toBeUndefined(); // held only over a narrower scope
    expect(heldUntil(held, '/medical/', 'delete', now)).toBeUndefined(); // expired
  });
  it('is the earliest of control and every mode asked for', () => {
    expect(delegableUntil(held, '/medical/', ['append'], now)).toBe(Date.parse(AUGUST));
    expect(delegableUntil(held, '/medical/', ['read', 'append'], now)).toBe(Date.parse(AUGUST));
    expect(delegableUntil(held, '/medical/', ['write'], now)).toBeUndefined();
    expect(delegableUntil(held, '/notes/', ['read'], now)).toBeUndefined(); // no control there
    expect(delegableUntil([{ scope: '/', modes: ['read', 'control'] }], '/a/', ['read'], now)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});

describe('clipToDelegator', () => {
  it('keeps only the modes the delegator holds with control over the scope', () => {
    const clipped = clipToDelegator(
      { scope: '/medical/', modes: ['read', 'write', 'control'] },
      [{ scope: '/medical/', modes: ['read', 'control'] }],
      now,
    );
    expect(clipped).toEqual([{ scope: '/medical/', modes: ['read', 'control'] }]);
  });
  it('counts nothing when the delegator lost control there, whatever else it holds', () => {
    expect(
      clipToDelegator({ scope: '/medical/', modes: ['read'] }, [{ scope: '/', modes: ['read'] }], now),
    ).toEqual([]);
    expect(clipToDelegator({ scope: '/medical/', modes: ['read'] }, [], now)).toEqual([]);
  });
  it('ends each mode when the entry, the delegator’s mode or its control ends, whichever is first', () => {
    const clipped = clipToDelegator(
      { scope: '/medical/', modes: ['read', 'append'] },
      [
        { scope: '/', modes: ['control'], expiresAt: AUGUST },
        { scope: '/medical/', modes: ['read'], expiresAt: JULY },
        { scope: '/medical/', modes: ['append'] },
      ],
      now,
    );
    expect(clipped).toEqual([
      { scope: '/medical/', modes: ['read'], expiresAt: JULY },
      { scope: '/medical/', modes: ['append'], expiresAt: AUGUST },
    ]);
    const sooner = clipToDelegator(
      { scope: '/medical/', modes: ['append'], expiresAt: JULY },
      [{ scope: '/', modes: ['append', 'control'], expiresAt: AUGUST }],
      now,
    );
    expect(sooner).toEqual([{ scope: '/medical/', modes: ['append'], expiresAt: JULY }]);
  });
  it('narrows the scope to where a narrowed delegator still holds control', () => {
    const clipped = clipToDelegator(
      { scope: '/medical/', modes: ['read'] },
      [{ scope: '/medical/2025/', modes: ['read', 'control'] }],
      now,
    );
    expect(clipped).toEqual([{ scope: '/medical/2025/', modes: ['read'] }]);
    expect(modes(clipped, 'medical/2025/a.pdf')).toEqual(['read']);
    expect(modes(clipped, 'medical/2024/a.pdf')).toEqual([]);
  });
  it('counts nothing when the delegator’s scope moved elsewhere', () => {
    expect(
      clipToDelegator(
        { scope: '/medical/', modes: ['read'] },
        [{ scope: '/other/', modes: ['read', 'control'] }],
        now,
      ),
    ).toEqual([]);
  });
  it('gives an expired entry nothing', () => {
    expect(
      clipToDelegator(
        { scope: '/', modes: ['read'], expiresAt: MAY },
        [{ scope: '/', modes: ['read', 'control'] }],
        now,
      ),
    ).toEqual([]);
  });
});

describe('effectiveGrants', () => {
  it('counts the owner’s entries as stored, without the expired ones', () => {
    const docs = pod({
      clinic: [
        byOwner({ scope: '/medical/', modes: ['read', 'control'], expiresAt: JULY }),
        byOwner({ scope: '/', modes: ['delete'], expiresAt: MAY }),
      ],
    });
    expect(effective(docs, 'clinic')).toEqual([
      { scope: '/medical/', modes: ['read', 'control'], expiresAt: JULY },
    ]);
  });

  it('clips a delegated entry to its delegator: modes, expiry and scope', () => {
    const docs = pod({
      clinic: [byOwner({ scope: '/medical/', modes: ['read', 'control'], expiresAt: JULY })],
      insurer: [by('clinic', { scope: '/', modes: ['read', 'write'] })],
      lab: [by('clinic', { scope: '/medical/2025/', modes: ['read', 'write'] })],
    });
    expect(effective(docs, 'insurer')).toEqual([{ scope: '/medical/', modes: ['read'], expiresAt: JULY }]);
    expect(effective(docs, 'lab')).toEqual([{ scope: '/medical/2025/', modes: ['read'], expiresAt: JULY }]);
  });

  it('gives nothing delegated by a delegator that was revoked, or whose grant was made again since', () => {
    const insurer = [by('clinic', { scope: '/medical/', modes: ['read'] }, 'grant-1')];
    expect(effective(pod({ insurer }), 'insurer')).toEqual([]);
    const regranted = pod({
      clinic: { grantId: 'grant-2', entries: [byOwner({ scope: '/', modes: ['read', 'control'] })] },
      insurer,
    });
    expect(effective(regranted, 'insurer')).toEqual([]);
    const same = pod({
      clinic: { grantId: 'grant-1', entries: [byOwner({ scope: '/', modes: ['read', 'control'] })] },
      insurer,
    });
    expect(effective(same, 'insurer')).toEqual([{ scope: '/medical/', modes: ['read'] }]);
  });

  it('gives nothing delegated by a delegator whose control expired or was taken away', () => {
    const insurer = [by('clinic', { scope: '/medical/', modes: ['read'] })];
    const expired = pod({
      clinic: [byOwner({ scope: '/', modes: ['read', 'control'], expiresAt: MAY })],
      insurer,
    });
    expect(effective(expired, 'insurer')).toEqual([]);
    const noControl = pod({ clinic: [byOwner({ scope: '/', modes: ['read'] })], insurer });
    expect(effective(noControl, 'insurer')).toEqual([]);
  });

  it('lets no ring of grants sustain itself once nothing in it is rooted in the owner', () => {
    // clinic gave insurer control, insurer gave it back to clinic; then the owner revoked clinic's own
    // entry: the entry insurer gave clinic is all clinic has left.
    const ring = pod({
      clinic: [by('insurer', { scope: '/', modes: ['read', 'control'] })],
      insurer: [by('clinic', { scope: '/', modes: ['read', 'control'] })],
    });
    expect(effective(ring, 'clinic')).toEqual([]);
    expect(effective(ring, 'insurer')).toEqual([]);
    // a grantee that granted itself (as the old service allowed) gains nothing from it
    const self = pod({ clinic: [by('clinic', { scope: '/', modes: ['read', 'control'] })] });
    expect(effective(self, 'clinic')).toEqual([]);
  });

  it('never lets a ring outlast or widen its root in the owner', () => {
    const docs = pod({
      clinic: [
        byOwner({ scope: '/medical/', modes: ['read', 'control'], expiresAt: JULY }),
        by('insurer', { scope: '/', modes: ['read', 'write', 'control'] }),
        by('clinic', { scope: '/medical/', modes: ['read', 'control'] }), // a self-grant without expiry
      ],
      insurer: [by('clinic', { scope: '/', modes: ['read', 'write', 'control'] })],
    });
    for (const who of ['clinic', 'insurer']) {
      const entries = effective(docs, who);
      expect(modes(entries, 'medical/a.pdf')).toEqual(['control', 'read']);
      expect(modes(entries, 'notes/a.pdf')).toEqual([]);
      expect(entries.every((e) => e.expiresAt !== undefined && e.expiresAt <= JULY)).toBe(true);
    }
  });

  it('counts chains up to the delegation depth, and nothing beyond', () => {
    const chain = pod({
      a: [byOwner({ scope: '/', modes: ['read', 'control'] })],
      b: [by('a', { scope: '/', modes: ['read', 'control'] })],
      c: [by('b', { scope: '/', modes: ['read', 'control'] })],
      d: [by('c', { scope: '/', modes: ['read', 'control'] })],
    });
    expect(modes(effective(chain, 'd', 3), 'x')).toEqual(['control', 'read']);
    expect(modes(effective(chain, 'c', 2), 'x')).toEqual(['control', 'read']);
    expect(modes(effective(chain, 'd', 2), 'x')).toEqual([]);
    expect(modes(effective(chain, 'b', 1), 'x')).toEqual(['control', 'read']);
  });

  it('adds up the owner’s and a delegator’s entries on one scope, and revoking the delegator leaves the owner’s', () => {
    const insurer = [
      byOwner({ scope: '/medical/', modes: ['read'] }),
      by('clinic', { scope: '/medical/', modes: ['append'] }),
    ];
    const both = pod({ clinic: [byOwner({ scope: '/', modes: ['append', 'control'] })], insurer });
    expect(modes(effective(both, 'insurer'), 'medical/a')).toEqual(['append', 'read']);
    expect(modes(effective(pod({ insurer }), 'insurer'), 'medical/a')).toEqual(['read']);
  });

  it('keeps the other fields of a stored entry (who made it, when, ...) in its effective entries', () => {
    const madeInMay = (entry: DelegatedEntry) => ({ ...entry, grantedAt: MAY });
    const docs = pod({
      clinic: [madeInMay(byOwner({ scope: '/', modes: ['read', 'control'], expiresAt: JULY }))],
      insurer: [madeInMay(by('clinic', { scope: '/medical/', modes: ['read'] }))],
    });
    expect(effectiveGrants('patient', docs, now, 4).get('insurer')).toEqual([
      { scope: '/medical/', modes: ['read'], expiresAt: JULY, grantedBy: 'clinic', grantedAt: MAY },
    ]);
    expect(effectiveGrants('patient', docs, now, 4).get('clinic')).toEqual([
      { scope: '/', modes: ['read', 'control'], expiresAt: JULY, grantedBy: 'patient', grantedAt: MAY },
    ]);
  });

  it('names the delegators to load next', () => {
    expect(
      delegatorsOf('patient', {
        entries: [
          byOwner({ scope: '/', modes: ['read'] }),
          by('clinic', { scope: '/a/', modes: ['read'] }),
          by('clinic', { scope: '/b/', modes: ['read'] }),
          by('lab', { scope: '/c/', modes: ['read'] }),
        ],
      }),
    ).toEqual(['clinic', 'lab']);
  });
});

describe('boundToDelegator (grant time)', () => {
  const held: GrantEntry[] = [{ scope: '/medical/', modes: ['read', 'append', 'control'], expiresAt: JULY }];
  it('gives an entry without expiry the delegator’s', () => {
    expect(boundToDelegator(held, { scope: '/medical/', modes: ['read'] }, now)).toEqual({
      value: { scope: '/medical/', modes: ['read'], expiresAt: JULY },
    });
  });
  it('keeps an earlier expiry and refuses a later one', () => {
    const earlier = at('2026-06-15T00:00:00Z');
    expect(boundToDelegator(held, { scope: '/medical/', modes: ['read'], expiresAt: earlier }, now)).toEqual({
      value: { scope: '/medical/', modes: ['read'], expiresAt: earlier },
    });
    expect(boundToDelegator(held, { scope: '/medical/', modes: ['read'], expiresAt: AUGUST }, now)).toEqual({
      refused: expect.stringMatching(/only until 2026-07-01/),
    });
  });
  it('refuses modes it does not hold and scopes beyond its control', () => {
    expect(boundToDelegator(held, { scope: '/medical/', modes: ['write'] }, now)).toEqual({
      refused: expect.stringMatching(/write/),
    });
    expect(boundToDelegator(held, { scope: '/', modes: ['read'] }, now)).toEqual({
      refused: expect.stringMatching(/control/),
    });
  });
  it('leaves an entry alone when the delegator holds it for ever', () => {
    const forever: GrantEntry[] = [{ scope: '/', modes: ['read', 'control'] }];
    expect(boundToDelegator(forever, { scope: '/a/', modes: ['read'] }, now)).toEqual({
      value: { scope: '/a/', modes: ['read'] },
    });
  });
});

describe('narrowedByDelegator (grant time)', () => {
  const clinic: GrantEntry[] = [{ scope: '/medical/', modes: ['read', 'append', 'control'] }];
  const owners = byOwner({ scope: '/medical/', modes: ['read', 'delete'] });
  it('refuses to remove a mode the delegator could not revoke', () => {
    expect(narrowedByDelegator(clinic, owners, ['read'], now)).toEqual({
      refused: expect.stringMatching(/delete over \/medical\/ from patient/),
    });
    expect(narrowedByDelegator(clinic, owners, [], now)).toEqual({
      refused: expect.stringMatching(/delete/),
    });
  });
  it('keeps an entry that loses nothing', () => {
    expect(narrowedByDelegator(clinic, owners, ['read', 'delete', 'append'], now)).toEqual({
      value: [owners],
    });
  });
  it('narrows an entry whose lost modes the delegator could revoke, keeping who made it', () => {
    const readAppend = byOwner({ scope: '/medical/', modes: ['read', 'append'] });
    expect(narrowedByDelegator(clinic, readAppend, ['read'], now)).toEqual({
      value: [{ ...readAppend, modes: ['read'] }],
    });
    expect(narrowedByDelegator(clinic, readAppend, [], now)).toEqual({ value: [] });
  });
});
