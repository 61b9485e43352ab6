/**
 * podstore's command line, over the SDK.
 *
 *   podstore users create <name> ['<json>']   sign up (fails if the name is taken); prints the token once
 *   podstore users put <name> '<json>'        create or replace a profile
 *   podstore users get|delete <name>
 *   podstore users patch <name> '<json>'      JSON merge patch
 *   podstore put <local-file|-> <owner>/<path> [--type <content-type>]
 *   podstore get <owner>/<path> [<local-file>|-]
 *   podstore ls <owner>/[<folder>/]
 *   podstore stat|rm <owner>/<path>
 *   podstore health|ready
 *
 * Options: --url (or PODSTORE_URL, default http://127.0.0.1:8080), --token (or PODSTORE_TOKEN), --json
 * for machine-readable output, --progress / --no-progress (default: a bar on a terminal for transfers
 * of 4 MiB or more). Exit code 0 on success, 1 on an error (the problem is printed on stderr), 2 on bad
 * usage.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type Progress, progressBar } from './progress.ts';
import { type FileInfo, PodstoreClient, PodstoreError } from './sdk.ts';

const USAGE = `usage: podstore [--url URL] [--token T] [--json] <command>
  users create|put|get|patch|delete <name> [json]
  put <local-file|-> <owner>/<path> [--type CT]   get <owner>/<path> [local-file|-]
  ls <owner>/[folder/]   stat <owner>/<path>   rm <owner>/<path>   health   ready`;

const PROGRESS_THRESHOLD = 4 * 2 ** 20;

interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

class UsageError extends Error {}

export async function runCli(argv: string[], io: Io = process): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(argv);
  } catch (e) {
    io.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const client = new PodstoreClient({
    baseUrl: options.url,
    ...(options.token ? { token: options.token } : {}),
  });
  const print = (human: string, value: unknown) =>
    io.stdout.write(`${options.json ? JSON.stringify(value) : human}\n`);
  const wantsProgress = (size: number) =>
    options.progress ?? (size >= PROGRESS_THRESHOLD && io.stderr.isTTY === true && !options.json);

  try {
    const [command, ...rest] = options.words;
    switch (command) {
      case 'health':
        print((await client.health()).trim(), { status: 'alive' });
        return 0;
      case 'ready': {
        const ready = await client.ready();
        print(`ready: ${ready.workers} workers`, ready);
        return 0;
      }
      case 'users':
        return await users(client, rest, print);
      case 'put': {
        const [local, remote] = rest;
        if (local === undefined || remote === undefined)
          throw new UsageError('put needs <local-file|-> <owner>/<path>');
        const { owner, path } = target(remote, false);
        const size = local === '-' ? undefined : (await stat(local)).size;
        const bar =
          size !== undefined && wantsProgress(size) ? progressBar(size, io.stderr, `put ${path}`) : undefined;
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
        return 0;
      }
      case 'get': {
        const [remote, local = '-'] = rest;
        if (remote === undefined) throw new UsageError('get needs <owner>/<path>');
        const { owner, path } = target(remote, false);
        const download = await client.files.get(owner, path);
        const bar = wantsProgress(download.size)
          ? progressBar(download.size, io.stderr, `get ${path}`)
          : undefined;
        await saveDownload(
          download.body,
          local === '-' ? io.stdout : createWriteStream(local),
          bar,
          local === '-',
        );
        bar?.finish();
        if (local !== '-')
          print(`saved ${owner}/${path} to ${local} (${download.size} bytes)`, {
            path,
            local,
            size: download.size,
          });
        return 0;
      }
      case 'ls': {
        const [remote] = rest;
        if (remote === undefined) throw new UsageError('ls needs <owner>/[folder/]');
        const { owner, path } = target(remote, true);
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
        return 0;
      }
      case 'stat': {
        const { owner, path } = target(need(rest[0], 'stat needs <owner>/<path>'), false);
        const info: FileInfo = await client.files.stat(owner, path);
        print(
          Object.entries(info)
            .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
            .join('\n'),
          info,
        );
        return 0;
      }
      case 'rm': {
        const { owner, path } = target(need(rest[0], 'rm needs <owner>/<path>'), false);
        await client.files.delete(owner, path);
        print(`deleted ${owner}/${path}`, { deleted: `${owner}/${path}` });
        return 0;
      }
      default:
        throw new UsageError(command === undefined ? 'missing command' : `unknown command ${command}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof PodstoreError) {
      io.stderr.write(
        options.json
          ? `${JSON.stringify(e.problem ?? { status: e.status })}\n`
          : `${e.status} ${e.problem?.title ?? ''}: ${e.message}\n`,
      );
      return 1;
    }
    io.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
}

async function users(
  client: PodstoreClient,
  words: string[],
  print: (human: string, value: unknown) => void,
): Promise<number> {
  const [verb, name, json] = words;
  if (name === undefined) throw new UsageError('users commands need a name');
  const show = (profile: unknown) => print(JSON.stringify(profile, null, 2), profile);
  switch (verb) {
    case 'create': {
      const created = await client.users.put(name, json === undefined ? {} : readJson(json), {
        ifNoneMatch: '*',
      });
      // The token is shown this once: keep it (PODSTORE_TOKEN or --token).
      print(`created ${name}\ntoken: ${created.token}`, {
        username: name,
        profile: created.profile,
        token: created.token,
      });
      return 0;
    }
    case 'put':
      show((await client.users.put(name, readJson(json))).profile);
      return 0;
    case 'get':
      show((await client.users.get(name)).profile);
      return 0;
    case 'patch':
      show((await client.users.patch(name, readJson(json))).profile);
      return 0;
    case 'delete': {
      const erasure = await client.users.delete(name);
      if (erasure === null) print(`deleted ${name}`, { deleted: name, erased: true });
      else
        print(`deleted ${name}; its erasure goes on: /v1/erasures/${erasure.id}`, {
          deleted: name,
          erased: false,
          erasure,
        });
      return 0;
    }
    default:
      throw new UsageError(`unknown users command ${verb ?? ''}`);
  }
}

/** Writes a download to `out` with backpressure; closes `out` unless it is stdout. */
async function saveDownload(
  body: ReadableStream<Uint8Array>,
  out: NodeJS.WritableStream,
  bar: Progress | undefined,
  keepOpen: boolean,
) {
  let done = 0;
  for await (const chunk of Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)) {
    done += (chunk as Buffer).length;
    bar?.update(done);
    if (!out.write(chunk as Buffer)) await once(out, 'drain');
  }
  if (!keepOpen) await new Promise<void>((resolve, reject) => out.end(() => resolve()).on?.('error', reject));
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean', default: false },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      type: { type: 'string' },
    },
    allowPositionals: true,
  });
  return {
    url: values.url ?? process.env.PODSTORE_URL ?? 'http://127.0.0.1:8080',
    token: values.token ?? process.env.PODSTORE_TOKEN,
    json: values.json ?? false,
    progress: values['no-progress'] ? false : values.progress,
    type: values.type,
    words: positionals,
  };
}

/** `owner/path` (or `owner/` and `owner/dir/` for folders) into its parts. */
function target(text: string, folder: boolean): { owner: string; path: string } {
  const slash = text.indexOf('/');
  if (slash <= 0) throw new UsageError(`expected <owner>/<path>, got ${text}`);
  const owner = text.slice(0, slash);
  const path = text.slice(slash + 1).replace(folder ? /\/+$/ : /$^/, '');
  if (!folder && path === '') throw new UsageError(`expected a file path after ${owner}/`);
  return { owner, path };
}

function need(value: string | undefined, message: string): string {
  if (value === undefined) throw new UsageError(message);
  return value;
}

function readJson(text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new UsageError('a JSON object is required');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('the argument is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError('expected a JSON object');
  return value as Record<string, unknown>;
}
