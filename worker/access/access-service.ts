/**
 * Applies the access policy to real requests: finds the modes a caller holds (the owner holds all; a
 * grantee what its grant document says; anyone else nothing), refuses before anything is looked up when
 * no mode could allow the operation, and records every access by a non-owner in the owner's audit log.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { decide, type GrantEntry, type Mode, modesAt, type Operation, precheck } from './access-policy.ts';
import type { AuditLog } from './audit-log.ts';
import type { GrantStore } from './grant-store.ts';

/** What a caller holds in a pod: everything (the owner) or a set of grant entries. */
export type Holding = { owner: true } | { owner: false; entries: GrantEntry[] };

export class AccessService {
  constructor(
    private readonly grants: GrantStore,
    private readonly audit: AuditLog,
    /** createdAt of an account, or undefined when there is none. */
    private readonly accountSince: (name: string) => Promise<string | undefined>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async holding(actor: string | null, owner: string): Promise<Holding> {
    if (actor === owner) return { owner: true };
    if (actor === null || actor.startsWith('@')) return { owner: false, entries: [] };
    const found = await this.grants.read(owner, actor);
    if (found === undefined) return { owner: false, entries: [] };
    if (found.doc.granteeSince !== undefined && (await this.accountSince(actor)) !== found.doc.granteeSince) {
      return { owner: false, entries: [] }; // the grant was for an earlier account of that name
    }
    return { owner: false, entries: found.doc.entries };
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
   * Runs `work` and records it in the owner's audit log when the actor is not the owner (or `always`),
   * whether it was allowed or refused. Pods of owners that do not exist get no log.
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
    const before = this.accountSince(owner).catch(() => undefined);
    let outcome = 'allowed';
    try {
      return await work();
    } catch (error) {
      outcome = error instanceof CommandError ? error.code : 'error';
      throw error;
    } finally {
      const [was, now] = await Promise.all([before, this.accountSince(owner).catch(() => undefined)]);
      if (was !== undefined && was === now) {
        await this.audit
          .record(owner, { actor, action, ...(path === undefined ? {} : { path }), outcome, requestId })
          .catch(() => undefined);
      }
    }
  }
}
