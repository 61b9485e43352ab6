/** `<owner>/<path>` on the command line into the pod's owner and the path in the pod. */
import { UsageError } from './usage-error.ts';

export interface PodAddress {
  owner: string;
  path: string;
}

/** A file: `alice/medical/scan.dcm`. */
export function parseFileAddress(text: string, command: string): PodAddress {
  const { owner, rest } = split(text, command);
  if (rest === '') throw new UsageError(`expected a file path after ${owner}/, got '${text}'`, command);
  return { owner, path: rest };
}

/** A folder: `alice/` (the root) or `alice/medical/` (the trailing slash may be left out). */
export function parseFolderAddress(text: string, command: string): PodAddress {
  const { owner, rest } = split(text, command);
  return { owner, path: rest.replace(/\/+$/, '') };
}

function split(text: string, command: string): { owner: string; rest: string } {
  const slash = text.indexOf('/');
  if (slash <= 0) throw new UsageError(`expected <owner>/<path>, got '${text}'`, command);
  return { owner: text.slice(0, slash), rest: text.slice(slash + 1) };
}
