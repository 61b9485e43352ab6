/** URL paths of the API, with every user-supplied segment encoded. */

export function userPath(username: string): string {
  return `/v1/users/${encodeURIComponent(username)}`;
}

/** A pod path (`medical/lab.pdf`, or a folder `medical/` with its slash) as URL segments. */
export function encodePodPath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export function filePath(owner: string, path: string): string {
  return `${userPath(owner)}/files/${encodePodPath(path)}`;
}

/** `a/b/` → `a/`; `a/` → ``; `` → ``. Folders end with `/`; the root is the empty string. */
export function parentFolder(folder: string): string {
  const trimmed = folder.endsWith('/') ? folder.slice(0, -1) : folder;
  const cut = trimmed.lastIndexOf('/');
  return cut < 0 ? '' : trimmed.slice(0, cut + 1);
}

/**
 * A folder path typed by a person (`/medical/2025`, `medical//x/`) as the API's form (`medical/2025/`),
 * or an error text when a segment is not allowed (`.`, `..`, control characters).
 */
export function normaliseFolderInput(input: string): { folder: string } | { error: string } {
  const segments = input.split('/').filter((s) => s !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..') return { error: 'a folder name cannot be "." or ".."' };
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(segment)) return { error: 'a folder name has no control characters' };
  }
  return { folder: segments.length === 0 ? '' : `${segments.join('/')}/` };
}

/** The breadcrumb of a folder: each ancestor with its name, from the root. */
export function breadcrumb(folder: string): { name: string; folder: string }[] {
  const crumbs = [{ name: 'pod', folder: '' }];
  let at = '';
  for (const segment of folder.split('/').filter((s) => s !== '')) {
    at += `${segment}/`;
    crumbs.push({ name: segment, folder: at });
  }
  return crumbs;
}
