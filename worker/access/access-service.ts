/**
 * Applies the access policy to real requests: finds the modes a caller holds (the owner holds all; a
 * grantee what its grant document says; anyone else nothing), refuses before anything is looked up when
 * no mode could allow the operation, and records every access by a non-owner in the owner's audit log.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { decide, type GrantEntry, type Mode, modesAt, type Operation, precheck } from './access-policy.ts';
import type { AuditLog } from './audit-log.ts';
import { type DelegationDocument, delegatorsOf, effectiveGrants } from './delegation.ts';
import type { GrantDocument, GrantStore } from './grant-store.ts';

/** Grants by grantees in a row that count by default (owner → a → b → c → d → e: 4). */
export const DEFAULT_DELEGATION_DEPTH = 4;
/** Grant documents read at most to resolve one caller's delegation chains. */
const MAX_CHAIN_DOCUMENTS = 32;

/** What a caller holds in a pod: everything (the owner) or a set of grant entries. */
/** What a caller holds in a pod: everything (the owner) or its effective grant entries (and its grant's id). */
export type Holding = { owner: true } | { owner: false; entries: GrantEntry[]; grantId?: string };

export class AccessService {
  constructor(
    private readonly grants: GrantStore,
    private readonly audit: AuditLog,
    /** createdAt of an account, or undefined when there is none. */
    private readonly accountSince: (name: string) => Promise<string | undefined>,
    private readonly clock: () => Date = () => new Date(),
    private readonly maxDelegationDepth = DEFAULT_DELEGATION_DEPTH,
  ) {}

  /**
   * What `actor` holds in `owner`'s pod now: everything (the owner), or its effective grant entries,
   * where each entry a control holder delegated counts only as far as that delegator holds it now.
   * For `delegation`: the entries it may pass on (those that a grant it makes would still count by).
   */
  async holding(
    actor: string | null,
    owner: string,
    purpose: 'access' | 'delegation' = 'access',
  ): Promise<Holding> {
    if (actor === owner) return { owner: true };
    if (actor === null || actor.startsWith('@')) return { owner: false, entries: [] };
    const documents = await this.delegationChain(owner, actor);
    // What it may pass on is what it holds through at most one hop less: a grant it makes counts one more.
    const depth = purpose === 'delegation' ? this.maxDelegationDepth - 1 : this.maxDelegationDepth;
    const entries = effectiveGrants(owner, documents, this.clock(), depth).get(actor) ?? [];
    const grantId = documents.get(actor)?.grantId;
    return { owner: false, entries, ...(grantId === undefined ? {} : { grantId }) };
  }

  /** The effective entries of every grantee of `documents` (see delegation.ts). */
  effective(owner: string, documents: ReadonlyMap<string, DelegationDocument>): Map<string, GrantEntry[]> {
    return effectiveGrants(owner, documents, this.clock(), this.maxDelegationDepth);
  }

  /**
   * The grant documents `grantee`'s entries depend on: its own and, breadth first, its delegators'
   * (up to the delegation depth). A document made for an earlier account of the same name counts as absent.
   */
  async delegationChain(owner: string, grantee: string): Promise<Map<string, DelegationDocument>> {
    const documents = new Map<string, DelegationDocument>();
    const seen = new Set([grantee]);
    let level = [grantee];
    for (let depth = 0; depth <= this.maxDelegationDepth && level.length > 0; depth++) {
      const docs = await Promise.all(level.map((name) => this.liveDocument(owner, name)));
      const next: string[] = [];
      level.forEach((name, i) => {
        const doc = docs[i];
        if (doc === undefined) return;
        documents.set(name, doc);
        for (const by of delegatorsOf(owner, doc)) {
          if (seen.has(by) || seen.size >= MAX_CHAIN_DOCUMENTS) continue;
          seen.add(by);
          next.push(by);
        }
      });
      level = next;
    }
    return documents;
  }

  /** `grantee`'s grant document, unless there is none or it was made for an earlier account of that name. */
  async liveDocument(owner: string, grantee: string): Promise<GrantDocument | undefined> {
    const found = await this.grants.read(owner, grantee);
    if (found === undefined) return undefined;
    if (
      found.doc.granteeSince !== undefined &&
      (await this.accountSince(grantee)) !== found.doc.granteeSince
    ) {
      return undefined; // the grant was for an earlier account of that name
    }
    return found.doc;
  }

  modes(holding: Holding, path: string): Set<Mode> | null {
    return holding.owner ? null : modesAt(holding.entries, path, this.clock());
  }

  /**
   * Throws if no mode the caller holds could allow `operation` on `path`: `notFound` for reads (the very
   * error a missing target gets, so nothing can be probed), 403 otherwise.
   */
  precheck(holding: Holding, operation: Operation, path: string, notFound: CommandError): void {
    const modes = this.modes(holding, path);
    if (modes === null) return;
    const decision = precheck(operation, modes);
    if (!decision.allow)
      throw decision.as === 'not_found' ? notFound : new CommandError(ErrorCode.FORBIDDEN, decision.reason);
  }

  /** Throws unless `operation` is allowed on a file whose state is now known. */
  decide(
    holding: Holding,
    operation: Operation,
    owner: string,
    path: string,
    file: { exists: boolean; author: string | null },
  ): void {
    const decision = decide(operation, owner, this.modes(holding, path), file);
    if (!decision.allow) {
      throw decision.as === 'not_found'
        ? new CommandError(ErrorCode.NOT_FOUND, `no file ${path}`)
        : new CommandError(ErrorCode.FORBIDDEN, decision.reason);
    }
  }

  /**
   * Runs `work` and notes it in the owner's audit log when the actor is not the owner (or `always`),
   * whether it was allowed or refused (refusals coalesced per caller, see audit-log.ts). Pods of owners
   * that do not exist get no log.
   */
  async audited<T>(
    actor: string | null,
    owner: string,
    action: string,
    path: string | undefined,
    requestId: string,
    work: () => Promise<T>,
    /** Record even the owner's own action (grant changes are always recorded). */
    always = false,
  ): Promise<T> {
    if (actor === owner && !always) return work();
    // The owner's account as the request begins: the entry goes to that account's log only, never to a
    // later account that took the name meanwhile, nor to a pod being erased.
    // (A look-up that fails leaves it unknown: the entry is still written, to the account of the moment.)
    const before = this.accountSince(owner).then(
      (since) => ({ known: true, since }),
      () => ({ known: false, since: undefined }),
    );
    let outcome = 'allowed';
    try {
      return await work();
    } catch (error) {
      outcome = error instanceof CommandError ? error.code : 'error';
      throw error;
    } finally {
      const was = await before;
      if (!was.known || was.since !== undefined) {
        const entry = { actor, action, ...(path === undefined ? {} : { path }), outcome, requestId };
        await this.audit.noteOrOwe(owner, entry, was.since);
      }
    }
  }
}
