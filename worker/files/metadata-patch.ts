/**
 * The user metadata of a file, changed by JSON merge patch (RFC 7396): `tags` (a list of short
 * strings) and `description`. `null` clears a field; any other member is refused, so a typo is an
 * error rather than silently ignored.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';

export interface UserMetadata {
  tags: string[];
  description: string;
}

const MAX_TAGS = 64;
const MAX_TAG_LENGTH = 128;
const MAX_DESCRIPTION = 4096;

export function applyMetadataPatch(current: UserMetadata, patch: unknown): UserMetadata {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw invalid('a metadata patch must be a JSON object');
  }
  const next: UserMetadata = { tags: current.tags, description: current.description };
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'tags') next.tags = value === null ? [] : checkTags(value);
    else if (key === 'description') next.description = value === null ? '' : checkDescription(value);
    else throw invalid(`unknown metadata field ${JSON.stringify(key)}: only tags and description can change`);
  }
  return next;
}

function checkTags(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_TAGS)
    throw invalid(`tags is a list of at most ${MAX_TAGS} strings`);
  for (const tag of value) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
      throw invalid(`a tag is a string of 1 to ${MAX_TAG_LENGTH} characters`);
    }
  }
  return [...new Set(value as string[])];
}

function checkDescription(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION) {
    throw invalid(`description is a string of at most ${MAX_DESCRIPTION} characters`);
  }
  return value;
}

const invalid = (detail: string) => new CommandError(ErrorCode.INVALID, detail);
