import type { FileInfo } from '../api/types.ts';

/** A file written by someone other than the pod's owner is sealed: nobody may overwrite or patch it. */
export function isSealed(info: Pick<FileInfo, 'author'>, owner: string): boolean {
  return info.author !== null && info.author !== owner;
}

export function SealedNotice({ info, owner, viewer }: { info: FileInfo; owner: string; viewer: string }) {
  return (
    <div class="sealed" role="note" data-testid="sealed-notice">
      <strong>Sealed</strong>: written by <strong>{info.author}</strong>.{' '}
      {viewer === owner
        ? 'Because someone else authored it, nobody — you included — may change its contents, tags or description. You may read it and delete it.'
        : 'Nobody, its author included, may change it now; the pod’s owner may read and delete it.'}
    </div>
  );
}
