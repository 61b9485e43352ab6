/** The shapes of the API's answers the console reads (docs/api.md). */
import type { Mode } from '../../../protocol/grant-modes.ts';

export interface SignUpResult {
  username: string;
  kind: 'person' | 'organization';
  profile: Record<string, unknown>;
  token: string;
  tokenId: string;
}

export interface TokenInfo {
  id: string;
  label?: string;
  createdAt?: string;
  lastUsedAt?: string | null;
  expiresAt?: string | null;
}

export interface IssuedToken extends TokenInfo {
  token: string;
}

export interface FolderEntry {
  name: string;
  kind: 'file' | 'folder';
  size?: number;
  contentType?: string;
  updatedAt?: string;
}

export interface FolderPage {
  path: string;
  items: FolderEntry[];
  next: string | null;
}

// Declared once for the api, the worker, the SDK and the console (a type import: nothing of protocol/
// is bundled but the list of modes).
export type { FileInfo } from '../../../protocol/file-info.ts';
export { MODES, type Mode } from '../../../protocol/grant-modes.ts';
export type { SearchAnswer, SearchHit, Snippet } from '../../../protocol/search.ts';

export interface GrantEntry {
  scope: string;
  modes: Mode[];
  expiresAt?: string;
}

export interface GrantView {
  grantee: string;
  entries: GrantEntry[];
  updatedAt?: string;
}

export type { AuditEntry } from '../../../protocol/audit-entry.ts';

import type { AuditEntry } from '../../../protocol/audit-entry.ts';

export interface AuditPage {
  entries: AuditEntry[];
  next: string | null;
}

/** An event of the pod's stream (protocol/events/event.ts, which the browser build does not load). */
export interface PodEvent {
  id: string;
  seq: number;
  time: string;
  kind: string;
  owner: string;
  actor: string | null;
  path?: string;
}

import type { FileInfo } from '../../../protocol/file-info.ts';

/** How far the workers got with a file's current version (previews, text for search). */
export interface ProcessingView {
  state: 'pending' | 'done' | 'failed';
  /** Why it failed: too_many_pixels, too_many_pages, too_large, timed_out, out_of_memory, corrupt, gave_up. */
  reason?: string;
  /** Only when the pod's search index could not take all of the file: its words, or the file itself. */
  search?: 'without-text' | 'none';
}

/** A file's metadata (`?metadata`), with its processing state when the server processes files. */
export interface FileDetailsInfo extends FileInfo {
  processing?: ProcessingView;
}
