/**
 * Granting and revoking. The owner may grant anything in their pod. A grantee holding `control` over a
 * scope (a delegator) may grant, within that scope, the modes it holds there and for no longer than it
 * holds them, and revoke what lies within it; it never changes its own grant, and never removes modes it
 * could not revoke. What a delegator granted counts, at every access, only as far as the delegator holds
 * it then (delegation.ts). Every change lands in the owner's audit log and is published as a
 * `grant.changed` event.
 */
import { randomUUID } from 'node:crypto';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import { PreconditionFailedError } from '../storage/object-store.ts';
import { type GrantEntry, MODES, type Mode, mayGrant } from './access-policy.ts';
import type { AccessService } from './access-service.ts';
import { boundToDelegator, narrowedByDelegator, type Ruling } from './delegation.ts';
import type { GrantDocument, GrantEntryRecord, GrantStore } from './grant-store.ts';

export interface GrantView {
  grantee: string;
  /** The stored entries that have not expired, each with who made it. */
  entries: GrantEntryRecord[];
  /** What the grantee holds now: delegated entries clipped to what their delegators hold. */
  effective: GrantEntry[];
  updatedAt: string;
}

/** The actor changing a grant: the owner, or a delegator with its effective entries and its grant's id. */
type Changer = { owner: true } | { owner: false; name: string; entries: GrantEntry[]; grantId?: string };

const MAX_ENTRIES = 64;
const MAX_ATTEMPTS = 8;

export class GrantsService {
  constructor(
    private readonly grants: GrantStore,
    private readonly access: AccessService,
    private readonly userExists: (name: string) => Promise<string | undefined>,
    private readonly events: EventPublisher,
    private readonly clock: () => Date = () => new Date(),
    /**
     * Called after every change of a grant in `owner`'s pod, best effort: what a grantee may no longer
     * finish goes at once (its unfinished uploads and the room they hold; their expiry is the backstop).
     */
    private readonly afterChange?: (owner: string) => Promise<unknown>,
  ) {}

  /**
   * `{modes, scope, expiresAt?}` sets that scope's entry (no modes: removes it); `{scopes: [...]}` (owner
   * only) replaces every entry. The owner's entry replaces every entry of that scope; a delegator's
   * replaces its own, and narrows others' only where it could revoke them.
   */
  async put(
    actor: string | null,
    owner: string,
    grantee: string,
    body: unknown,
    requestId: string,
  ): Promise<GrantView> {
    return this.access.audited(
      actor,
      owner,
      'grant',
      grantee,
      requestId,
      async () => {
        const changer = await this.#changer(actor, owner, 'delegation');
        if (grantee === owner)
          throw new CommandError(ErrorCode.INVALID, 'the owner holds every mode already');
        if (!changer.owner && grantee === changer.name)
          throw new CommandError(ErrorCode.FORBIDDEN, 'a grantee cannot change its own grant');
        const granteeSince = await this.userExists(grantee);
        if (granteeSince === undefined)
          throw new CommandError(ErrorCode.NOT_FOUND, `no user named ${grantee}`);
        const now = this.clock();
        const incoming = parseBody(body, now);
        if (incoming.replace && !changer.owner) {
          throw new CommandError(
            ErrorCode.FORBIDDEN,
            'only the owner replaces all of a grant; set one scope at a time',
          );
        }
        const entries = changer.owner
          ? incoming.entries
          : incoming.entries.map((entry) => allowed(boundToDelegator(changer.entries, entry, now)));
        const stamp: Omit<GrantEntryRecord, keyof GrantEntry> = changer.owner
          ? { grantedBy: owner, grantedAt: now.toISOString() }
          : {
              grantedBy: changer.name,
              ...(changer.grantId === undefined ? {} : { delegatorGrant: changer.grantId }),
              grantedAt: now.toISOString(),
            };
        const doc = await this.#update(owner, grantee, granteeSince, (current) => {
          if (incoming.replace) return entries.map((e) => ({ ...e, ...stamp }));
          const [entry] = entries as [GrantEntry];
          const others = current.filter((e) => e.scope !== entry.scope);
          const kept = changer.owner
            ? []
            : current
                .filter((e) => e.scope === entry.scope && e.grantedBy !== changer.name)
                .flatMap((e) => allowed(narrowedByDelegator(changer.entries, e, entry.modes, now)));
          return [...others, ...kept, ...(entry.modes.length === 0 ? [] : [{ ...entry, ...stamp }])];
        });
        await this.events.publish({ kind: 'grant.changed', owner, path: grantee });
        await this.afterChange?.(owner).catch(() => undefined);
        return this.#view(owner, doc);
      },
      true,
    );
  }

  /**
   * The owner and the grantee itself see the whole grant; a control holder sees the entries within the
   * scopes it controls (not found when there are none). Anyone else: not found.
   */
  async get(actor: string | null, owner: string, grantee: string): Promise<GrantView> {
    const notFound = new CommandError(ErrorCode.NOT_FOUND, `no grant for ${grantee}`);
    const holding = actor === grantee ? ({ owner: true } as const) : await this.access.holding(actor, owner);
    if (!holding.owner && !holding.entries.some((e) => e.modes.includes('control'))) throw notFound;
    const found = await this.access.liveDocument(owner, grantee);
    if (found === undefined) throw notFound;
    const full = await this.#view(owner, found);
    if (holding.owner) return full;
    const now = this.clock();
    const controlled = (e: GrantEntry) => mayGrant(holding.entries, e.scope, [], now).allow;
    const shown = {
      ...full,
      entries: full.entries.filter(controlled),
      effective: full.effective.filter(controlled),
    };
    if (shown.entries.length === 0) throw notFound;
    return shown;
  }

  async list(actor: string | null, owner: string): Promise<GrantView[]> {
    if (actor !== owner)
      throw new CommandError(ErrorCode.FORBIDDEN, 'only the owner lists the grants of a pod');
    const names = await this.grants.grantees(owner);
    const docs = await Promise.all(names.map((name) => this.access.liveDocument(owner, name)));
    const live = new Map(docs.filter((d) => d !== undefined).map((d) => [d.grantee, d]));
    const effective = this.access.effective(owner, live);
    return [...live.values()].map((d) => view(d, effective.get(d.grantee) ?? [], this.clock()));
  }

  /**
   * The owner revokes everything; a delegator revokes the entries within its control scopes made of
   * modes it holds there (never its own grant).
   */
  async revoke(actor: string | null, owner: string, grantee: string, requestId: string): Promise<void> {
    return this.access.audited(
      actor,
      owner,
      'revoke',
      grantee,
      requestId,
      async () => {
        const changer = await this.#changer(actor, owner);
        if (!changer.owner && grantee === changer.name)
          throw new CommandError(ErrorCode.FORBIDDEN, 'a grantee cannot change its own grant');
        const found = await this.grants.read(owner, grantee);
        if (found === undefined) throw new CommandError(ErrorCode.NOT_FOUND, `no grant for ${grantee}`);
        if (changer.owner) {
          await this.grants.remove(owner, grantee);
        } else {
          const now = this.clock();
          const revocable = (e: GrantEntry) => mayGrant(changer.entries, e.scope, e.modes, now).allow;
          if (!found.doc.entries.some(revocable))
            throw new CommandError(ErrorCode.FORBIDDEN, 'nothing of this grant is within your control');
          await this.#update(owner, grantee, found.doc.granteeSince, (entries) =>
            entries.filter((e) => !revocable(e)),
          );
        }
        await this.events.publish({ kind: 'grant.changed', owner, path: grantee });
        await this.afterChange?.(owner).catch(() => undefined);
      },
      true,
    );
  }

  /** Who changes grants: the owner, or a delegator (some effective control); 403 for anyone else. */
  async #changer(
    actor: string | null,
    owner: string,
    purpose: 'access' | 'delegation' = 'access',
  ): Promise<Changer> {
    const holding = await this.access.holding(actor, owner, purpose);
    if (holding.owner) return { owner: true };
    const controls = (entries: GrantEntry[]) => entries.some((e) => e.modes.includes('control'));
    if (actor === null || !controls(holding.entries)) {
      const full = purpose === 'delegation' ? await this.access.holding(actor, owner) : holding;
      if (!full.owner && controls(full.entries))
        throw new CommandError(
          ErrorCode.FORBIDDEN,
          'your control comes through the longest chain of delegations that counts; you cannot delegate further',
        );
      throw new CommandError(
        ErrorCode.FORBIDDEN,
        'only the owner, or a grantee with control, changes grants',
      );
    }
    return {
      owner: false,
      name: actor,
      entries: holding.entries,
      ...(holding.grantId === undefined ? {} : { grantId: holding.grantId }),
    };
  }

  async #view(owner: string, doc: GrantDocument): Promise<GrantView> {
    const holding = await this.access.holding(doc.grantee, owner);
    return view(doc, holding.owner ? [] : holding.entries, this.clock());
  }

  async #update(
    owner: string,
    grantee: string,
    granteeSince: string | undefined,
    change: (entries: GrantEntryRecord[]) => GrantEntryRecord[],
  ): Promise<GrantDocument> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.grants.read(owner, grantee);
      // A document made for an earlier account of the grantee's name is not carried over.
      const stale = found?.doc.granteeSince !== undefined && found.doc.granteeSince !== granteeSince;
      const current = stale ? undefined : found?.doc;
      const entries = change(current?.entries ?? []);
      if (entries.length > MAX_ENTRIES)
        throw new CommandError(ErrorCode.INVALID, `a grant holds at most ${MAX_ENTRIES} scopes`);
      const grantId = current === undefined ? randomUUID() : current.grantId;
      const doc: GrantDocument = {
        owner,
        grantee,
        entries,
        updatedAt: this.clock().toISOString(),
        ...(granteeSince === undefined ? {} : { granteeSince }),
        ...(grantId === undefined ? {} : { grantId }),
      };
      try {
        if (entries.length === 0) await this.grants.remove(owner, grantee);
        else await this.grants.write(doc, found?.etag);
        return doc;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new CommandError(ErrorCode.CONFLICT, 'the grant changed meanwhile; try again');
  }
}

const allowed = <T>(ruling: Ruling<T>): T => {
  if ('refused' in ruling) throw new CommandError(ErrorCode.FORBIDDEN, ruling.refused);
  return ruling.value;
};

function view(doc: GrantDocument, effective: GrantEntry[], now: Date): GrantView {
  const live = doc.entries.filter(
    (e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > now.getTime(),
  );
  return { grantee: doc.grantee, entries: live, effective, updatedAt: doc.updatedAt };
}

function parseBody(body: unknown, now: Date): { replace: boolean; entries: GrantEntry[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid('a grant is a JSON object');
  const b = body as Record<string, unknown>;
  if (b.scopes !== undefined) {
    if (!Array.isArray(b.scopes) || b.scopes.length > MAX_ENTRIES)
      throw invalid(`scopes is a list of at most ${MAX_ENTRIES} entries`);
    const entries = b.scopes.map((e) => parseEntry(e, now));
    if (new Set(entries.map((e) => e.scope)).size !== entries.length)
      throw invalid('each scope appears once');
    return { replace: true, entries: entries.filter((e) => e.modes.length > 0) };
  }
  return { replace: false, entries: [parseEntry(b, now)] };
}

function parseEntry(value: unknown, now: Date): GrantEntry {
  if (value === null || typeof value !== 'object')
    throw invalid('a grant entry is {modes, scope, expiresAt?, maxBytes?, maxFiles?}');
  const { modes, scope, expiresAt, maxBytes, maxFiles, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid(`unknown field ${Object.keys(rest)[0]} in a grant`);
  if (!Array.isArray(modes) || !modes.every((m) => MODES.includes(m as Mode))) {
    throw invalid(`modes is a list of ${MODES.join(', ')}`);
  }
  if (
    typeof scope !== 'string' ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused
    !/^\/(?:[^/\u0000-\u001f]+\/)*$/.test(scope) ||
    /\/\.{1,2}\//.test(scope)
  ) {
    throw invalid(
      'scope is a folder of the pod: starts and ends with "/", e.g. "/medical/" ("/" is the whole pod)',
    );
  }
  if (expiresAt !== undefined && (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt)))) {
    throw invalid('expiresAt is an ISO 8601 time');
  }
  if (typeof expiresAt === 'string' && Date.parse(expiresAt) <= now.getTime())
    throw invalid('expiresAt is in the past');
  for (const [name, budget] of [
    ['maxBytes', maxBytes],
    ['maxFiles', maxFiles],
  ] as const) {
    if (budget === undefined) continue;
    if (!Number.isSafeInteger(budget) || (budget as number) < 0)
      throw invalid(`${name} is a whole number, 0 or more`);
    if (!modes.includes('append') && !modes.includes('write'))
      throw invalid(`${name} bounds what a grantee adds: it needs the append or write mode`);
  }
  return {
    scope,
    modes: [...new Set(modes as Mode[])],
    ...(typeof expiresAt === 'string' ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    ...(typeof maxBytes === 'number' ? { maxBytes } : {}),
    ...(typeof maxFiles === 'number' ? { maxFiles } : {}),
  };
}

const invalid = (detail: string) => new CommandError(ErrorCode.INVALID, detail);
