/**
 * Who may do what in a pod: the permission model of the design, as pure functions.
 *
 * A grant gives a grantee some modes over a folder scope of the owner's pod, maybe until a time:
 *   read    GET/HEAD files and list folders in scope
 *   append  create new files in scope (never overwrite or delete)
 *   write   create, overwrite and patch metadata in scope
 *   delete  delete files in scope
 *   control grant and revoke the modes it holds, in scope
 * The owner holds every mode, except that a file authored by someone else is sealed: nobody, the owner
 * included, may overwrite it or patch its metadata. No probing: a caller without read gets "not found"
 * for a file that exists as for one that does not, and a caller who holds no mode an operation could
 * need is refused before anything is looked up.
 */
import { MODES, type Mode } from '../../protocol/grant-modes.ts';

export { MODES, type Mode };

export interface GrantEntry {
  /** A folder of the pod: starts and ends with `/` (`/` is the whole pod). */
  scope: string;
  modes: Mode[];
  /** ISO time after which the entry no longer counts. */
  expiresAt?: string;
  /** With append or write: bytes, and new files, the grantee may add under this entry in all (worker/quota/). */
  maxBytes?: number;
  maxFiles?: number;
}

export type Operation = 'read' | 'write-file' | 'patch' | 'delete';

export type Decision =
  | { allow: true }
  /** `not_found` hides existence (reads); `forbidden` says no (writes). */
  | { allow: false; as: 'not_found' | 'forbidden'; reason: string };

const allow: Decision = { allow: true };

/** `/a/b/` covers `a/b/c.txt` and `a/b/d/e`; `/` covers everything. Paths have no leading slash. */
export function scopeCovers(scope: string, path: string): boolean {
  return `/${path}`.startsWith(scope) && `/${path}` !== scope;
}

/** Is `inner` (a scope) inside `outer` (a scope)? */
export function scopeWithin(inner: string, outer: string): boolean {
  return inner.startsWith(outer);
}

/** Modes a grantee holds over `path` (a file path, or a folder path ending with `/`), at `now`. */
export function modesAt(entries: GrantEntry[], path: string, now: Date): Set<Mode> {
  const held = new Set<Mode>();
  for (const entry of entries) {
    if (entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= now.getTime()) continue;
    const isFolder = path === '' || path.endsWith('/');
    const covers = isFolder ? scopeWithin(`/${path}`, entry.scope) : scopeCovers(entry.scope, path);
    if (covers) for (const mode of entry.modes) held.add(mode);
  }
  return held;
}

/**
 * Before anything is looked up: may `modes` possibly allow `operation`? Reads without `read` answer
 * not-found; writes without any mode that could allow them answer forbidden.
 */
export function precheck(operation: Operation, modes: Set<Mode>): Decision {
  switch (operation) {
    case 'read':
      return modes.has('read') ? allow : { allow: false, as: 'not_found', reason: 'no read access' };
    case 'write-file':
      return modes.has('write') || modes.has('append')
        ? allow
        : { allow: false, as: 'forbidden', reason: 'you may not add or change files here' };
    case 'patch':
      return modes.has('write')
        ? allow
        : { allow: false, as: 'forbidden', reason: 'you may not change files here' };
    case 'delete':
      return modes.has('delete')
        ? allow
        : { allow: false, as: 'forbidden', reason: 'you may not delete files here' };
  }
}

/** A file is sealed when someone other than the owner wrote it. */
export function isSealed(owner: string, author: string | null): boolean {
  return author !== null && author !== owner;
}

/**
 * Once the file's current state is known: `exists` and its author. The owner passes `null` for modes
 * (they hold all of them).
 */
export function decide(
  operation: Operation,
  owner: string,
  modes: Set<Mode> | null,
  file: { exists: boolean; author: string | null },
): Decision {
  const sealed = file.exists && isSealed(owner, file.author);
  if ((operation === 'write-file' || operation === 'patch') && sealed) {
    return {
      allow: false,
      as: 'forbidden',
      reason: `sealed: written by ${file.author}, it cannot be changed`,
    };
  }
  if (modes === null) return allow;
  if (operation === 'write-file' && file.exists && !modes.has('write')) {
    return { allow: false, as: 'forbidden', reason: 'append access creates new files only; this one exists' };
  }
  return precheck(operation, modes);
}

/** May a caller holding `held` (null: the owner) grant `modes` over `scope`? Only modes it holds with control. */
export function mayGrant(held: GrantEntry[] | null, scope: string, modes: Mode[], now: Date): Decision {
  if (held === null) return allow;
  const heldHere = modesAt(held, scope.slice(1), now);
  if (!heldHere.has('control'))
    return { allow: false, as: 'forbidden', reason: `you hold no control over ${scope}` };
  const missing = modes.filter((m) => !heldHere.has(m));
  if (missing.length > 0) {
    return {
      allow: false,
      as: 'forbidden',
      reason: `you cannot grant modes you do not hold: ${missing.join(', ')}`,
    };
  }
  return allow;
}
