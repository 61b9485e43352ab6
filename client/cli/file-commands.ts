/** `put`, `get`, `ls`, `stat`, `rm`: files in a pod. */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { RESUMABLE_MIN_BYTES } from '../../protocol/resumable-upload.ts';
import { type Progress, progressBar } from '../progress.ts';
import type { CommandSpec } from './command.ts';
import { parseFileAddress, parseFolderAddress } from './pod-address.ts';

const FILE = { name: '<owner>/<path>', meaning: "the pod's owner, a slash, the file's path in the pod" };

export const putCommand: CommandSpec = {
  name: 'put',
  summary: 'upload a file (create or replace)',
  description:
    "Uploads a local file, or standard input with -, to a path in a pod, streaming it. Creates the file, or replaces it if it exists. Prints the stored file's size and SHA-256. A local file of 16 MiB or more goes up resumably: if the network drops the upload goes on by itself, and if the command is interrupted, running it again goes on from where the server stopped (the upload's address is kept in $XDG_STATE_HOME/podstore/uploads.json, else ~/.local/state/podstore/uploads.json, until it is complete).",
  args: [{ name: '<file|->', meaning: 'the file to upload; - reads standard input' }, FILE],
  options: ['type', 'progress', 'no-progress', 'no-resume'],
  examples: [
    'podstore put scan.dcm alice/medical/scan.dcm --type application/dicom',
    'podstore put mri.bin alice/scans/mri.bin   # interrupted? run it again: it goes on',
    'pg_dump db | podstore put - alice/backups/db.sql',
  ],
  async run({ client, io, options, print, wantsProgress, stateFile }, [local = '', remote = '']) {
    const { owner, path } = parseFileAddress(remote, 'put');
    const size = local === '-' ? undefined : (await stat(local)).size;
    const bar =
      size !== undefined && wantsProgress(size) ? progressBar(size, io.stderr, `put ${path}`) : undefined;
    if (size !== undefined && size >= RESUMABLE_MIN_BYTES && options.resume !== false) {
      const info = await client.files.upload(owner, path, local, {
        stateFile,
        ...(options.type === undefined ? {} : { contentType: options.type }),
        ...(bar === undefined ? {} : { onProgress: (n: number) => bar.update(n) }),
      });
      bar?.finish();
      print(
        `stored ${owner}/${info.path} (${info.size} bytes, sha256 ${info.sha256})${info.resumed ? ', resumed' : ''}`,
        info,
      );
      return;
    }
    const info = await client.files.put(owner, path, local === '-' ? io.stdin : createReadStream(local), {
      ...(options.type === undefined ? {} : { contentType: options.type }),
      ...(size === undefined ? {} : { size }),
      ...(bar === undefined ? {} : { onProgress: (n: number) => bar.update(n) }),
    });
    bar?.finish();
    print(
      `${info.created ? 'created' : 'replaced'} ${owner}/${info.path} (${info.size} bytes, sha256 ${info.sha256})`,
      info,
    );
  },
};

export const getCommand: CommandSpec = {
  name: 'get',
  summary: 'download a file',
  description:
    'Downloads a file from a pod to a local file, or to standard output (the default, or -). Streams it; nothing is written when the server refuses.',
  args: [
    FILE,
    {
      name: '<local-file|->',
      meaning: 'where to save it (optional); - or nothing: standard output',
      optional: true,
    },
  ],
  options: ['progress', 'no-progress'],
  examples: ['podstore get alice/medical/scan.dcm copy.dcm', 'podstore get alice/notes/today.md - | less'],
  async run({ client, io, print, wantsProgress }, [remote = '', local = '-']) {
    const { owner, path } = parseFileAddress(remote, 'get');
    const download = await client.files.get(owner, path);
    const bar = wantsProgress(download.size)
      ? progressBar(download.size, io.stderr, `get ${path}`)
      : undefined;
    const toStdout = local === '-';
    await saveDownload(download.body, toStdout ? io.stdout : createWriteStream(local), bar, toStdout);
    bar?.finish();
    if (!toStdout)
      print(`saved ${owner}/${path} to ${local} (${download.size} bytes)`, {
        path,
        local,
        size: download.size,
      });
  },
};

export const lsCommand: CommandSpec = {
  name: 'ls',
  summary: 'list a folder',
  description:
    'Lists the files and folders in a folder of a pod, every page of it: folders end with /, files show size, media type and last change (tab-separated).',
  args: [
    { name: '<owner>/[<folder>/]', meaning: "the pod's owner, a slash, and a folder (nothing: the root)" },
  ],
  examples: ['podstore ls alice/', 'podstore --json ls alice/medical/'],
  async run({ client, print }, [remote = '']) {
    const { owner, path } = parseFolderAddress(remote, 'ls');
    const items = [];
    let cursor: string | undefined;
    do {
      const page = await client.files.list(owner, path, cursor === undefined ? {} : { cursor });
      items.push(...page.items);
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
    print(
      items
        .map((i) =>
          i.kind === 'folder' ? `${i.name}/` : `${i.name}\t${i.size}\t${i.contentType}\t${i.updatedAt}`,
        )
        .join('\n'),
      items,
    );
  },
};

export const statCommand: CommandSpec = {
  name: 'stat',
  summary: "show a file's metadata",
  description:
    "Shows a file's metadata without its content: size, media type, SHA-256, ETag, author, times, tags, description, revision.",
  args: [FILE],
  examples: ['podstore stat alice/medical/scan.dcm', 'podstore --json stat alice/medical/scan.dcm'],
  async run({ client, print }, [remote = '']) {
    const { owner, path } = parseFileAddress(remote, 'stat');
    const info = await client.files.stat(owner, path);
    print(
      Object.entries(info)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
        .join('\n'),
      info,
    );
  },
};

export const rmCommand: CommandSpec = {
  name: 'rm',
  summary: 'delete a file',
  description: 'Deletes a file from a pod.',
  args: [FILE],
  examples: ['podstore rm alice/medical/old-scan.dcm'],
  async run({ client, print }, [remote = '']) {
    const { owner, path } = parseFileAddress(remote, 'rm');
    await client.files.delete(owner, path);
    print(`deleted ${owner}/${path}`, { deleted: `${owner}/${path}` });
  },
};

/** Writes a download to `out` with backpressure; closes `out` unless it is stdout. */
async function saveDownload(
  body: ReadableStream<Uint8Array>,
  out: NodeJS.WritableStream,
  bar: Progress | undefined,
  keepOpen: boolean,
): Promise<void> {
  let done = 0;
  for await (const chunk of Readable.fromWeb(body as NodeWebStream<Uint8Array>)) {
    done += (chunk as Buffer).length;
    bar?.update(done);
    if (!out.write(chunk as Buffer)) await once(out, 'drain');
  }
  if (!keepOpen) await new Promise<void>((resolve, reject) => out.end(() => resolve()).on?.('error', reject));
}
