import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { files } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { breadcrumb, normaliseFolderInput, parentFolder } from '../api/paths.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { FolderEntry, PodEvent } from '../api/types.ts';
import { uploadFile } from '../api/upload.ts';
import { formatBytes, formatTime } from '../format.ts';
import { useLiveEvents } from '../live/use-live-events.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { FileDetails } from './FileDetails.tsx';
import { LiveBadge } from './LiveBadge.tsx';
import { SearchBox } from './SearchBox.tsx';
import { Thumbnail } from './Thumbnail.tsx';
import { UploadDropZone } from './UploadDropZone.tsx';
import { type UploadItem, UploadQueue } from './UploadQueue.tsx';

const PAGE_SIZE = 50;

interface Props {
  credentials: Credentials;
  owner: string;
  /** The folder to open first (a grantee's scope, say); '' is the pod's root. */
  startFolder?: string;
}

/** A pod's folders: browse (paginated), open a file, upload (picker, drop, many, progress, cancel). */
export function FolderBrowser({ credentials, owner, startFolder = '' }: Props) {
  const [folder, setFolder] = useState(startFolder);
  const [items, setItems] = useState<FolderEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [uploads, setUploads] = useState<UploadItem[]>([]);
  const [newFolder, setNewFolder] = useState('');
  const [newFolderError, setNewFolderError] = useState<string | null>(null);
  /** A grantee without read here: the folder cannot be listed (the API answers as if it did not exist). */
  const [unlisted, setUnlisted] = useState(false);
  const mine = owner === credentials.username;
  const uploadIds = useRef(0);
  const heading = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async () => {
    setError(null);
    setUnlisted(false);
    try {
      const page = await files.list(credentials, owner, folder, undefined, PAGE_SIZE);
      setItems(page.items);
      setNext(page.next);
    } catch (err) {
      const problem = asApiError(err);
      // A folder exists while it holds something: a new one is empty until the first upload. Someone
      // else's pod answers 404 alike for a folder that is not there and one the grant does not let us read.
      if (problem.status === 404) {
        setItems([]);
        setNext(null);
        setUnlisted(!mine);
      } else setError(problem);
    }
  }, [credentials, owner, folder, mine]);

  useEffect(() => {
    setItems(null);
    void load();
  }, [load]);

  const live = useLiveEvents(credentials, owner, (event: PodEvent) => {
    // A change in this folder or below it (a new subfolder appears): the first page again.
    if (event.path?.startsWith(folder)) void load();
  });

  const loadMore = async () => {
    if (next === null) return;
    try {
      const page = await files.list(credentials, owner, folder, next, PAGE_SIZE);
      setItems((current) => [...(current ?? []), ...page.items]);
      setNext(page.next);
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const open = (target: string) => {
    setFolder(target);
    setSelected(null);
    heading.current?.focus();
  };

  /** A search result: its folder, with the file's details open. */
  const openFile = (path: string) => {
    setFolder(parentFolder(path));
    setSelected(path);
  };

  const startUploads = (chosen: File[]) => {
    for (const file of chosen) {
      const id = ++uploadIds.current;
      const update = (patch: Partial<UploadItem>) =>
        setUploads((all) => all.map((u) => (u.id === id ? { ...u, ...patch } : u)));
      const handle = uploadFile(
        credentials,
        owner,
        `${folder}${file.name}`,
        file,
        (sent, total) => update({ sent, total }),
        // A folder this caller cannot list: it cannot ask whether the name is taken either.
        { checkTaken: !unlisted },
      );
      setUploads((all) => [
        ...all,
        {
          id,
          name: file.name,
          total: file.size,
          sent: 0,
          state: 'uploading',
          resumable: handle.resumable,
          cancel: handle.cancel,
        },
      ]);
      handle.done.then(
        () => {
          update({ state: 'done' });
          // A folder this caller cannot list stays unlisted: asking again would only be refused (and logged).
          if (!unlisted) void load();
        },
        (err) => {
          const problem = asApiError(err);
          update({
            state: problem.code === 'aborted' ? 'cancelled' : 'failed',
            // Uploads create only (If-None-Match: *, or a look before a resumable one): a 412 means
            // the name is taken.
            message:
              problem.status === 412
                ? `a file named ${file.name} is already here; delete it or rename yours first`
                : problem.detail,
          });
          // A cancel that came after the last byte may still have stored the file: the listing says.
          if (!unlisted) void load();
        },
      );
    }
  };

  const createFolder = (event: Event) => {
    event.preventDefault();
    const parsed = normaliseFolderInput(newFolder.startsWith('/') ? newFolder : `${folder}${newFolder}`);
    if ('error' in parsed) {
      setNewFolderError(parsed.error);
      return;
    }
    setNewFolderError(null);
    setNewFolder('');
    open(parsed.folder);
  };

  const crumbs = breadcrumb(folder);
  return (
    <section aria-labelledby="folder-title">
      <div class="row">
        <h2 id="folder-title" tabIndex={-1} ref={heading}>
          {mine ? 'My pod' : `${owner}’s pod`}
        </h2>
        <LiveBadge state={live.state} why={live.why} />
      </div>
      <nav aria-label="Folder path">
        <ol class="breadcrumb">
          {crumbs.map((crumb, i) => (
            <li key={crumb.folder}>
              {i === crumbs.length - 1 ? (
                <span aria-current="page">{crumb.name}</span>
              ) : (
                <button type="button" class="link" onClick={() => open(crumb.folder)}>
                  {crumb.name}
                </button>
              )}
            </li>
          ))}
        </ol>
      </nav>
      <SearchBox credentials={credentials} owner={owner} onOpen={openFile} />
      <ErrorNotice error={error} />
      {items === null ? (
        <p aria-busy="true">Loading…</p>
      ) : unlisted ? (
        <p class="muted" data-testid="unlisted">
          Nothing to list: this folder is empty, or your access here does not include read. If it includes
          append, you can still add files.
        </p>
      ) : items.length === 0 ? (
        <p class="muted">
          This folder is empty. {folder !== '' && 'It exists once a file is uploaded into it.'}
        </p>
      ) : (
        <div class="table-wrap">
          <table data-testid="folder-listing">
            <caption class="visually-hidden">Contents of /{folder}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Size</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.name} data-name={item.name}>
                  <td>
                    {item.kind === 'folder' ? (
                      <button type="button" class="link" onClick={() => open(`${folder}${item.name}/`)}>
                        <span aria-hidden="true">📁 </span>
                        {item.name}/
                      </button>
                    ) : (
                      <>
                        <Thumbnail
                          credentials={credentials}
                          owner={owner}
                          path={`${folder}${item.name}`}
                          contentType={item.contentType}
                          version={`${item.updatedAt ?? ''}:${item.size ?? ''}`}
                        />
                        <button
                          type="button"
                          class="link"
                          onClick={() => setSelected(`${folder}${item.name}`)}
                        >
                          {item.name}
                        </button>
                      </>
                    )}
                  </td>
                  <td>{item.size === undefined ? '' : formatBytes(item.size)}</td>
                  <td>{formatTime(item.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && (
        <button type="button" onClick={loadMore}>
          Load more
        </button>
      )}
      {selected !== null && (
        <FileDetails
          credentials={credentials}
          owner={owner}
          path={selected}
          onClose={() => setSelected(null)}
          onDeleted={() => {
            setSelected(null);
            void load();
          }}
        />
      )}
      <UploadDropZone folderLabel={`/${folder}`} onFiles={startUploads} />
      <UploadQueue uploads={uploads} />
      <form onSubmit={createFolder} class="inline-form">
        <label>
          New folder (a name here, or a path from the root starting with /)
          <input value={newFolder} required onInput={(e) => setNewFolder(e.currentTarget.value)} />
        </label>
        <button type="submit">Open new folder</button>
        {newFolderError !== null && (
          <p class="error" role="alert">
            {newFolderError}
          </p>
        )}
      </form>
    </section>
  );
}
