/**
 * What a caller sees of a pod file: the result of the file commands (worker → api), the JSON body of
 * the file answers (api → client) and what the SDK returns. Declared once for all three.
 */
export interface FileInfo {
  /** The file's path in its pod, without a leading slash. */
  path: string;
  size: number;
  contentType: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** The HTTP entity tag (bare): changes with every write of the bytes or the metadata. */
  etag: string;
  /** Who wrote the bytes (the authenticated principal). */
  author: string | null;
  createdAt: string;
  updatedAt: string;
  tags: string[];
  description: string;
  /** Increases on every write. */
  revision: number;
}
