/**
 * Storage quotas as pure functions over one pod's usage document (worker/quota/usage-ledger.ts keeps
 * that document in the object store and changes it only with compare-and-swap).
 *
 * A pod may hold at most `limits.bytes` bytes in at most `limits.files` files: the operator's override
 * for the account, else the worker's defaults (QUOTA_DEFAULT_BYTES, QUOTA_DEFAULT_FILES). Whoever
 * writes into the pod (its owner or a grantee) spends the owner's quota. A write first takes a
 * reservation (bytes and files it may still add), so concurrent writers on any number of workers can
 * never together pass the quota: `used + Σ live reservations + need ≤ limit` is checked and the
 * reservation recorded in one conditional write. A grant entry may carry `maxBytes` and `maxFiles`,
 * the bytes and new files the grantee may add under it in all (a new file's size, an overwrite's
 * growth; a budget: deleting files does not give it back, granting the entry again starts a new one);
 * a write by the grantee is charged to every live entry covering its path that allows writing and has
 * a budget, and must fit each of them.
 */

export interface Amount {
  bytes: number;
  files: number;
}

/** One budgeted grant entry a write is charged to. `grantedAt` tells a re-granted entry from the old. */
export interface BudgetRef {
  grantee: string;
  scope: string;
  grantedAt: string;
  maxBytes?: number;
  maxFiles?: number;
}

export interface Reservation extends Amount {
  id: string;
  /** ISO time after which the reservation no longer counts (its worker died or forgot it). */
  until: string;
  budgets: BudgetRef[];
}

export interface BudgetSpend {
  grantedAt: string;
  /** Bytes added under the entry so far. */
  spent: number;
  /** New files added under the entry so far. */
  files?: number;
}

export interface UsageDocument {
  version: 1;
  used: Amount;
  /** The operator's per-account overrides; an absent field takes the worker's default. */
  limits: Partial<Amount>;
  reservations: Reservation[];
  /** grantee → scope → what it has added under that budgeted entry. */
  budgets: Record<string, Record<string, BudgetSpend>>;
  updatedAt: string;
  /** When the usage was last counted from the pod's objects (drift repair). */
  recountedAt?: string;
}

export type Refusal = { allow: false; reason: string };
export type Verdict = { allow: true } | Refusal;

export function emptyUsage(now: Date): UsageDocument {
  return {
    version: 1,
    used: { bytes: 0, files: 0 },
    limits: {},
    reservations: [],
    budgets: {},
    updatedAt: now.toISOString(),
  };
}

export function effectiveLimits(doc: UsageDocument, defaults: Amount): Amount {
  return { bytes: doc.limits.bytes ?? defaults.bytes, files: doc.limits.files ?? defaults.files };
}

export function liveReservations(doc: UsageDocument, now: Date): Reservation[] {
  return doc.reservations.filter((r) => Date.parse(r.until) > now.getTime());
}

/** Bytes and files held by live reservations, all of them or all but `except`. */
export function reservedTotal(doc: UsageDocument, now: Date, except?: string): Amount {
  let bytes = 0;
  let files = 0;
  for (const r of liveReservations(doc, now)) {
    if (r.id === except) continue;
    bytes += r.bytes;
    files += r.files;
  }
  return { bytes, files };
}

/** Spent under a budget, counting only spending for the entry as granted now (`grantedAt`). */
export function budgetSpent(doc: UsageDocument, ref: BudgetRef): Amount {
  const found = doc.budgets[ref.grantee]?.[ref.scope];
  return found !== undefined && found.grantedAt === ref.grantedAt
    ? { bytes: found.spent, files: found.files ?? 0 }
    : { bytes: 0, files: 0 };
}

function budgetReserved(doc: UsageDocument, ref: BudgetRef, now: Date, except?: string): Amount {
  let bytes = 0;
  let files = 0;
  for (const r of liveReservations(doc, now)) {
    if (r.id === except || !r.budgets.some((b) => sameBudget(b, ref))) continue;
    bytes += r.bytes;
    files += r.files;
  }
  return { bytes, files };
}

const sameBudget = (a: BudgetRef, b: BudgetRef) =>
  a.grantee === b.grantee && a.scope === b.scope && a.grantedAt === b.grantedAt;

/**
 * May a reservation of `amount` (charged to `budgets`) be held, beside every other live reservation?
 * `except`: the id of the reservation being grown (its current hold is replaced by `amount`).
 */
export function mayReserve(
  doc: UsageDocument,
  defaults: Amount,
  amount: Amount,
  budgets: BudgetRef[],
  now: Date,
  except?: string,
): Verdict {
  const limits = effectiveLimits(doc, defaults);
  const others = reservedTotal(doc, now, except);
  if (amount.bytes > 0 && doc.used.bytes + others.bytes + amount.bytes > limits.bytes) {
    return {
      allow: false,
      reason: `the pod's storage quota is full: ${limits.bytes} bytes allowed, ${doc.used.bytes} used, ${others.bytes} held by uploads in progress`,
    };
  }
  if (amount.files > 0 && doc.used.files + others.files + amount.files > limits.files) {
    return {
      allow: false,
      reason: `the pod's file quota is full: ${limits.files} files allowed, ${doc.used.files} stored`,
    };
  }
  for (const ref of budgets) {
    const spent = budgetSpent(doc, ref);
    const held = budgetReserved(doc, ref, now, except);
    if (
      ref.maxBytes !== undefined &&
      amount.bytes > 0 &&
      spent.bytes + held.bytes + amount.bytes > ref.maxBytes
    ) {
      return {
        allow: false,
        reason: `the grant's byte budget for ${ref.scope} is spent: ${ref.maxBytes} bytes allowed, ${spent.bytes} added`,
      };
    }
    if (
      ref.maxFiles !== undefined &&
      amount.files > 0 &&
      spent.files + held.files + amount.files > ref.maxFiles
    ) {
      return {
        allow: false,
        reason: `the grant's file budget for ${ref.scope} is spent: ${ref.maxFiles} files allowed, ${spent.files} added`,
      };
    }
  }
  return { allow: true };
}

/** Bytes still free for a new hold: under the quota and under every budget (≥ 0). */
export function available(
  doc: UsageDocument,
  defaults: Amount,
  budgets: BudgetRef[],
  now: Date,
  except?: string,
): number {
  const limits = effectiveLimits(doc, defaults);
  let free = limits.bytes - doc.used.bytes - reservedTotal(doc, now, except).bytes;
  for (const ref of budgets) {
    if (ref.maxBytes === undefined) continue;
    const used = budgetSpent(doc, ref).bytes + budgetReserved(doc, ref, now, except).bytes;
    free = Math.min(free, ref.maxBytes - used);
  }
  return Math.max(0, free);
}

/** The document with expired reservations dropped. */
export function pruned(doc: UsageDocument, now: Date): UsageDocument {
  return { ...doc, reservations: liveReservations(doc, now) };
}

/** Holds `reservation` (replacing one with the same id). */
export function withReservation(doc: UsageDocument, reservation: Reservation, now: Date): UsageDocument {
  const base = pruned(doc, now);
  return {
    ...base,
    reservations: [...base.reservations.filter((r) => r.id !== reservation.id), reservation],
    updatedAt: now.toISOString(),
  };
}

export function withoutReservation(doc: UsageDocument, id: string, now: Date): UsageDocument {
  const base = pruned(doc, now);
  return {
    ...base,
    reservations: base.reservations.filter((r) => r.id !== id),
    updatedAt: now.toISOString(),
  };
}

/**
 * A committed write: drops its reservation, moves `delta` (new size − replaced size; +1 file for a new
 * one) into `used`, and adds what the write added (the delta's bytes, if positive, and its new file)
 * to each budget it was charged to.
 */
export function settled(
  doc: UsageDocument,
  id: string,
  delta: Amount,
  budgets: BudgetRef[],
  now: Date,
): UsageDocument {
  const base = withoutReservation(doc, id, now);
  const spend = structuredClone(base.budgets);
  for (const ref of budgets) {
    const before = budgetSpent(base, ref);
    const forGrantee = spend[ref.grantee] ?? {};
    forGrantee[ref.scope] = {
      grantedAt: ref.grantedAt,
      spent: before.bytes + Math.max(0, delta.bytes),
      files: before.files + Math.max(0, delta.files),
    };
    spend[ref.grantee] = forGrantee;
  }
  return { ...base, used: add(base.used, delta), budgets: spend };
}

/**
 * A removed file gives its space back. `used` is a plain sum of changes, which commute: a delete's
 * refund may land before the settle of the write that created the file (that write's hold still
 * covers it meanwhile), so it may dip below zero for a moment; it is never clamped, or the settle that
 * follows would count the file for ever.
 */
export function refunded(doc: UsageDocument, amount: Amount, now: Date): UsageDocument {
  const base = pruned(doc, now);
  return {
    ...base,
    used: add(base.used, { bytes: -amount.bytes, files: -amount.files }),
    updatedAt: now.toISOString(),
  };
}

function add(a: Amount, b: Amount): Amount {
  return { bytes: a.bytes + b.bytes, files: a.files + b.files };
}

/** What a write that replaces `current` (or creates a file) adds: bytes may be negative. */
export function writeDelta(newSize: number, current: { size: number } | undefined): Amount {
  return { bytes: newSize - (current?.size ?? 0), files: current === undefined ? 1 : 0 };
}

/** Grant entries as budgets: live entries covering `path` that allow adding and name a budget. */
export function budgetsFor(
  grantee: string,
  entries: readonly {
    scope: string;
    modes: readonly string[];
    expiresAt?: string;
    maxBytes?: number;
    maxFiles?: number;
    grantedAt?: string;
  }[],
  path: string,
  now: Date,
): BudgetRef[] {
  return entries
    .filter(
      (e) =>
        (e.maxBytes !== undefined || e.maxFiles !== undefined) &&
        (e.modes.includes('append') || e.modes.includes('write')) &&
        (e.expiresAt === undefined || Date.parse(e.expiresAt) > now.getTime()) &&
        `/${path}`.startsWith(e.scope),
    )
    .map((e) => ({
      grantee,
      scope: e.scope,
      grantedAt: e.grantedAt ?? '',
      ...(e.maxBytes === undefined ? {} : { maxBytes: e.maxBytes }),
      ...(e.maxFiles === undefined ? {} : { maxFiles: e.maxFiles }),
    }));
}

/** The usage document as its owner sees it. */
export function usageView(doc: UsageDocument, defaults: Amount, now: Date) {
  const limits = effectiveLimits(doc, defaults);
  return {
    used: { bytes: Math.max(0, doc.used.bytes), files: Math.max(0, doc.used.files) },
    reserved: reservedTotal(doc, now),
    limits,
    overridden: { bytes: doc.limits.bytes !== undefined, files: doc.limits.files !== undefined },
    available: {
      bytes: Math.max(0, limits.bytes - doc.used.bytes),
      files: Math.max(0, limits.files - doc.used.files),
    },
    updatedAt: doc.updatedAt,
    ...(doc.recountedAt === undefined ? {} : { recountedAt: doc.recountedAt }),
  };
}

/** Checks an operator's `{bytes?, files?}` override: whole numbers ≥ 0, or null for the default. */
export function parseLimits(body: unknown): Partial<Record<keyof Amount, number | null>> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new TypeError('a quota is a JSON object {bytes?, files?}');
  const out: Partial<Record<keyof Amount, number | null>> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (key !== 'bytes' && key !== 'files') throw new TypeError(`unknown field ${key} in a quota`);
    if (value !== null && !(Number.isSafeInteger(value) && (value as number) >= 0))
      throw new TypeError(`${key} is a whole number ≥ 0, or null for the default`);
    out[key] = value as number | null;
  }
  return out;
}

/** The override applied: a number sets it, null returns to the default, absent leaves it. */
export function withLimits(
  doc: UsageDocument,
  change: Partial<Record<keyof Amount, number | null>>,
  now: Date,
): UsageDocument {
  const limits: Partial<Amount> = { ...doc.limits };
  for (const key of ['bytes', 'files'] as const) {
    const value = change[key];
    if (value === null) delete limits[key];
    else if (value !== undefined) limits[key] = value;
  }
  return { ...pruned(doc, now), limits, updatedAt: now.toISOString() };
}
