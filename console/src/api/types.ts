/** The shapes of the API's answers the console reads (docs/api.md). */

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

export interface FileInfo {
  path: string;
  size: number;
  contentType: string;
  sha256: string;
  etag: string;
  author: string | null;
  createdAt: string;
  updatedAt: string;
  tags: string[];
  description: string;
  revision: number;
}

export const MODES = ['read', 'append', 'write', 'delete', 'control'] as const;
export type Mode = (typeof MODES)[number];

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

export interface AuditEntry {
  time: string;
  actor: string | null;
  action: string;
  path?: string;
  outcome: string;
  requestId?: string;
  count?: number;
  firstTime?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: string | null;
}

export interface PodEvent {
  id: string;
  seq: number;
  time: string;
  kind: string;
  owner: string;
  actor: string | null;
  path?: string;
}
