/**
 * Granting and revoking. The owner may grant anything in their pod; a grantee holding `control` over a
 * scope may grant, within that scope, the modes it holds there, and revoke what lies within it. Every
 * change lands in the owner's audit log and is published as a `grant.changed` event.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import { PreconditionFailedError } from '../storage/object-store.ts';
import { type GrantEntry, MODES, type Mode, mayGrant, scopeWithin } from './access-policy.ts';
import type { AccessService } from './access-service.ts';
import type { GrantDocument, GrantEntryRecord, GrantStore } from './grant-store.ts';

export interface GrantView {
  grantee: string;
  entries: GrantEntryRecord[];
  updatedAt: string;
}

const MAX_ENTRIES = 64;
const MAX_ATTEMPTS = 8;

export class GrantsService {
  constructor(
    private readonly grants: GrantStore,
    private readonly access: AccessService,
    private readonly userExists: (name: string) => Promise<string | undefined>,
    private readonly events: EventPublisher,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * `{modes, scope, expiresAt?}` sets that scope's entry (no modes: removes it); `{scopes: [...]}` (owner
   * only) replaces every entry.
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
        const holding = await this.#controller(actor, owner);
        if (grantee === owner)
          throw new CommandError(ErrorCode.INVALID, 'the owner holds every mode already');
        const granteeSince = await this.userExists(grantee);
        if (granteeSince === undefined)
          throw new CommandError(ErrorCode.NOT_FOUND, `no user named ${grantee}`);
        const now = this.clock();
        const incoming = parseBody(body, now);
        if (incoming.replace && actor !== owner) {
          throw new CommandError(
            ErrorCode.FORBIDDEN,
            'only the owner replaces all of a grant; set one scope at a time',
          );
        }
        for (const entry of incoming.entries) {
          const decision = mayGrant(holding, entry.scope, entry.modes, now);
          if (!decision.allow) throw new CommandError(ErrorCode.FORBIDDEN, decision.reason);
        }
        const stamp = { grantedBy: actor ?? '', grantedAt: now.toISOString() };
        const doc = await this.#update(owner, grantee, granteeSince, (current) => {
          if (incoming.replace) return incoming.entries.map((e) => ({ ...e, ...stamp }));
          const [entry] = incoming.entries as [GrantEntry];
          const others = current.filter((e) => e.scope !== entry.scope);
          return entry.modes.length === 0 ? others : [...others, { ...entry, ...stamp }];
        });
        await this.events.publish({ kind: 'grant.changed', owner, path: grantee });
        return view(doc, grantee, now);
      },
      true,
    );
  }

  /** The owner, a control holder, or the grantee itself may look. Anyone else: not found. */
  async get(actor: string | null, owner: string, grantee: string): Promise<GrantView> {
    const notFound = new CommandError(ErrorCode.NOT_FOUND, `no grant for ${grantee}`);
    if (actor !== grantee) {
      const holding = await this.access.holding(actor, owner);
      if (!holding.owner && !holding.entries.some((e) => e.modes.includes('control'))) throw notFound;
    }
    const found = await this.grants.read(owner, grantee);
    if (found === undefined || !(await this.#live(found.doc))) throw notFound;
    return view(found.doc, grantee, this.clock());
  }

  async list(actor: string | null, owner: string): Promise<GrantView[]> {
    if (actor !== owner)
      throw new CommandError(ErrorCode.FORBIDDEN, 'only the owner lists the grants of a pod');
    const names = await this.grants.grantees(owner);
    const docs = await Promise.all(
      names.map(async (name) => {
        const found = await this.grants.read(owner, name);
        return found !== undefined && (await this.#live(found.doc)) ? found : undefined;
      }),
    );
    return docs.filter((d) => d !== undefined).map((d) => view(d.doc, d.doc.grantee, this.clock()));
  }

  /** False for a grant given to an earlier account of the grantee's name (deleted since): it is void. */
  async #live(doc: GrantDocument): Promise<boolean> {
    return doc.granteeSince === undefined || (await this.userExists(doc.grantee)) === doc.granteeSince;
  }

  /** The owner revokes everything; a control holder revokes the entries within its control scopes. */
  async revoke(actor: string | null, owner: string, grantee: string, requestId: string): Promise<void> {
    return this.access.audited(
      actor,
      owner,
      'revoke',
      grantee,
      requestId,
      async () => {
        const holding = await this.#controller(actor, owner);
        const found = await this.grants.read(owner, grantee);
        if (found === undefined) throw new CommandError(ErrorCode.NOT_FOUND, `no grant for ${grantee}`);
        if (holding === null) {
          await this.grants.remove(owner, grantee);
        } else {
          const now = this.clock();
          const revocable = (e: GrantEntry) =>
            holding.some((h) => h.modes.includes('control') && scopeWithin(e.scope, h.scope)) &&
            mayGrant(holding, e.scope, e.modes, now).allow;
          if (!found.doc.entries.some(revocable))
            throw new CommandError(ErrorCode.FORBIDDEN, 'nothing of this grant is within your control');
          await this.#update(owner, grantee, found.doc.granteeSince, (entries) =>
            entries.filter((e) => !revocable(e)),
          );
        }
        await this.events.publish({ kind: 'grant.changed', owner, path: grantee });
      },
      true,
    );
  }

  /** The grant entries the actor changes grants with: null for the owner; 403 for someone without control. */
  async #controller(actor: string | null, owner: string): Promise<GrantEntry[] | null> {
    const holding = await this.access.holding(actor, owner);
    if (holding.owner) return null;
    if (!holding.entries.some((e) => e.modes.includes('control'))) {
      throw new CommandError(
        ErrorCode.FORBIDDEN,
        'only the owner, or a grantee with control, changes grants',
      );
    }
    return holding.entries;
  }

  async #update(
    owner: string,
    grantee: string,
    granteeSince: string | undefined,
    change: (entries: GrantEntryRecord[]) => GrantEntryRecord[],
  ): Promise<GrantDocument> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await this.grants.read(owner, grantee);
      // What an earlier account of the grantee's name held is not the current one's to keep.
      const inherited =
        found !== undefined && found.doc.granteeSince === granteeSince ? found.doc.entries : [];
      const entries = change(inherited);
      if (entries.length > MAX_ENTRIES)
        throw new CommandError(ErrorCode.INVALID, `a grant holds at most ${MAX_ENTRIES} scopes`);
      const doc: GrantDocument = {
        owner,
        grantee,
        entries,
        updatedAt: this.clock().toISOString(),
        ...(granteeSince === undefined ? {} : { granteeSince }),
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

function view(doc: GrantDocument, grantee: string, now: Date): GrantView {
  const live = doc.entries.filter(
    (e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > now.getTime(),
  );
  return { grantee, entries: live, updatedAt: doc.updatedAt };
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
    throw invalid('a grant entry is {modes, scope, expiresAt?}');
  const { modes, scope, expiresAt, ...rest } = value as Record<string, unknown>;
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
  return {
    scope,
    modes: [...new Set(modes as Mode[])],
    ...(typeof expiresAt === 'string' ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
  };
}

const invalid = (detail: string) => new CommandError(ErrorCode.INVALID, detail);
