/**
 * Delegation: what a grant entry is worth, at access time, given who made it.
 *
 * An entry made by the owner counts as stored. An entry made by a `control` holder (its delegator)
 * counts only as far as the delegator itself holds, at that moment and through grants ultimately made by
 * the owner, `control` and those modes over the entry's scope, and never longer than the delegator holds
 * them. So revoking, narrowing or expiring a delegator clips everything delegated from it at once, and a
 * ring of grants handed back and forth sustains nothing: what is not rooted in the owner counts for
 * nothing. Chains longer than a bound count for nothing either.
 *
 * Pure functions: the grant documents involved are loaded by the caller.
 */
import { type GrantEntry, type Mode, mayGrant, scopeWithin } from './access-policy.ts';

/** A stored grant entry: who made it, and which grant of the delegator it was made under. */
export interface DelegatedEntry extends GrantEntry {
  /** The owner, or the control holder that made the entry. */
  grantedBy: string;
  /** The `grantId` of the delegator's grant document when the entry was made (absent: made by the owner). */
  delegatorGrant?: string;
}

/** The grant document of one grantee, as far as delegation needs it. */
export interface DelegationDocument {
  /** Fresh for each grant document created: a revoked and later re-made grant has another id. */
  grantId?: string;
  entries: DelegatedEntry[];
}

const FOREVER = Number.POSITIVE_INFINITY;
const expiryOf = (entry: GrantEntry) =>
  entry.expiresAt === undefined ? FOREVER : Date.parse(entry.expiresAt);
const live = (entry: GrantEntry, now: Date) => expiryOf(entry) > now.getTime();

/**
 * Until when (ms since the epoch, Infinity for no end) `entries` hold `mode` over all of `scope`, at
 * `now`; undefined when they do not hold it there now.
 */
export function heldUntil(entries: GrantEntry[], scope: string, mode: Mode, now: Date): number | undefined {
  let until: number | undefined;
  for (const entry of entries) {
    if (!live(entry, now) || !entry.modes.includes(mode) || !scopeWithin(scope, entry.scope)) continue;
    until = Math.max(until ?? 0, expiryOf(entry));
  }
  return until;
}

/**
 * Until when `entries` hold `control` and every one of `modes` over `scope` (the latest expiry a
 * delegated entry of those modes may have); undefined when they do not hold them all now.
 */
export function delegableUntil(
  entries: GrantEntry[],
  scope: string,
  modes: Mode[],
  now: Date,
): number | undefined {
  let until = FOREVER;
  for (const mode of new Set<Mode>(['control', ...modes])) {
    const held = heldUntil(entries, scope, mode, now);
    if (held === undefined) return undefined;
    until = Math.min(until, held);
  }
  return until;
}

/**
 * What `entry`, delegated by a holder of `delegator` (its effective entries), is worth: the modes the
 * delegator holds with control over the entry's scope, or over a narrower scope within it where the
 * delegator holds them only there, each until the earliest of the entry's and the delegator's expiries.
 */
export function clipToDelegator<E extends GrantEntry>(entry: E, delegator: GrantEntry[], now: Date): E[] {
  if (!live(entry, now)) return [];
  // The entry's scope, and every narrower scope of the delegator inside it: the delegator's holdings are
  // the same all over each of these scopes, apart from narrower ones inside, which get their own entry.
  const scopes = new Set([entry.scope]);
  for (const held of delegator)
    if (live(held, now) && scopeWithin(held.scope, entry.scope)) scopes.add(held.scope);
  const clipped: E[] = [];
  for (const scope of [...scopes].sort()) {
    const control = heldUntil(delegator, scope, 'control', now);
    if (control === undefined) continue;
    const byExpiry = new Map<number, Mode[]>();
    for (const mode of entry.modes) {
      const held = heldUntil(delegator, scope, mode, now);
      if (held === undefined) continue;
      const until = Math.min(expiryOf(entry), held, control);
      byExpiry.set(until, [...(byExpiry.get(until) ?? []), mode]);
    }
    for (const [until, modes] of byExpiry) {
      const { expiresAt: _, ...rest } = entry;
      clipped.push({
        ...rest,
        scope,
        modes,
        ...(until === FOREVER ? {} : { expiresAt: new Date(until).toISOString() }),
      } as E);
    }
  }
  return clipped;
}

/**
 * The effective entries of every grantee in `documents` (the grant documents of one pod, by grantee;
 * those not loaded count as absent) at `now`, each a stored entry (with its other fields) narrowed in
 * scope, modes and expiry: the least fixed point of "an owner's entry counts as is; a
 * delegated entry counts as clipped to its delegator's effective entries", reached from nothing, so only
 * chains rooted in the owner count. `maxDepth` bounds the delegation hops counted from the owner.
 */
export function effectiveGrants(
  owner: string,
  documents: ReadonlyMap<string, DelegationDocument>,
  now: Date,
  maxDepth: number,
): Map<string, DelegatedEntry[]> {
  let effective = new Map<string, DelegatedEntry[]>();
  // Round k counts chains of at most k-1 delegations; going round a ring only narrows, so nothing new
  // appears after as many rounds as there are documents.
  const rounds = Math.min(maxDepth, documents.size) + 1;
  for (let round = 0; round < rounds; round++) {
    const next = new Map<string, DelegatedEntry[]>();
    for (const [grantee, doc] of documents) {
      const entries: DelegatedEntry[] = [];
      for (const entry of doc.entries) {
        if (entry.grantedBy === owner) {
          if (live(entry, now)) entries.push({ ...entry, modes: [...entry.modes] });
          continue;
        }
        const delegatorDoc = documents.get(entry.grantedBy);
        if (delegatorDoc === undefined || delegatorDoc.grantId !== entry.delegatorGrant) continue;
        entries.push(...clipToDelegator(entry, effective.get(entry.grantedBy) ?? [], now));
      }
      next.set(grantee, entries);
    }
    effective = next;
  }
  return effective;
}

/** The delegators `doc`'s entries depend on (other than the owner): the grant documents to load next. */
export function delegatorsOf(owner: string, doc: DelegationDocument): string[] {
  return [...new Set(doc.entries.map((e) => e.grantedBy).filter((by) => by !== owner))];
}

/** The value a rule lets through, or why it refuses. */
export type Ruling<T> = { value: T } | { refused: string };

/**
 * A delegator (holding `held`, its effective entries) sets `entry`: only modes it holds with control over
 * the scope, and lasting no longer than it holds them. A missing `expiresAt` becomes that time; a later
 * one is refused.
 */
export function boundToDelegator(held: GrantEntry[], entry: GrantEntry, now: Date): Ruling<GrantEntry> {
  const decision = mayGrant(held, entry.scope, entry.modes, now);
  if (!decision.allow) return { refused: decision.reason };
  if (entry.modes.length === 0) return { value: entry };
  const until = delegableUntil(held, entry.scope, entry.modes, now) ?? now.getTime();
  if (until === FOREVER) return { value: entry };
  const limit = new Date(until).toISOString();
  if (entry.expiresAt === undefined) return { value: { ...entry, expiresAt: limit } };
  if (Date.parse(entry.expiresAt) > until) {
    return {
      refused: `you hold these modes over ${entry.scope} only until ${limit}; a grant you make cannot last longer`,
    };
  }
  return { value: entry };
}

/**
 * Someone else's entry on the scope a delegator (holding `held`) sets to `modes`: kept as it is when it
 * holds no other mode, narrowed to `modes` when the delegator could revoke every mode it would lose, and
 * refused otherwise: a delegator never removes what it could not revoke.
 */
export function narrowedByDelegator<E extends DelegatedEntry>(
  held: GrantEntry[],
  entry: E,
  modes: Mode[],
  now: Date,
): Ruling<E[]> {
  const lost = entry.modes.filter((m) => !modes.includes(m));
  if (lost.length === 0) return { value: [entry] };
  if (!mayGrant(held, entry.scope, lost, now).allow) {
    return {
      refused: `this grant holds ${lost.join(', ')} over ${entry.scope} from ${entry.grantedBy}, which you cannot revoke`,
    };
  }
  const left = entry.modes.filter((m) => modes.includes(m));
  return { value: left.length === 0 ? [] : [{ ...entry, modes: left }] };
}
