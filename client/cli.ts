/**
 * podstore's command line, over the SDK:
 *
 *   podstore [--url URL] user put <name> '<json>'     create or replace a profile
 *   podstore [--url URL] user get <name>
 *   podstore [--url URL] user patch <name> '<json>'   JSON merge patch
 *   podstore [--url URL] user delete <name>
 *   podstore [--url URL] health | ready
 *
 * URL defaults to PODSTORE_URL, else http://127.0.0.1:8080. Exit code 0 on success, 1 on an HTTP
 * error (the problem is printed on stderr), 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { PodstoreClient, PodstoreError } from './sdk.ts';

const USAGE = `usage: podstore [--url URL] user (put|get|patch|delete) <name> [json] | health | ready`;

export async function runCli(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { url, token, words } = parsed;
  const client = new PodstoreClient({ baseUrl: url, ...(token === undefined ? {} : { token }) });
  const print = (value: unknown) =>
    out.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
  try {
    const [noun, verb, name, json] = words;
    if (noun === 'health') print((await client.health()).trim());
    else if (noun === 'ready') print(await client.ready());
    else if (noun === 'user' && name !== undefined) {
      if (verb === 'get') print((await client.users.get(name)).profile);
      else if (verb === 'put') print((await client.users.put(name, readJson(json))).profile);
      else if (verb === 'patch') print((await client.users.patch(name, readJson(json))).profile);
      else if (verb === 'delete') await client.users.delete(name);
      else throw new UsageError(`unknown user command ${verb ?? ''}`);
    } else throw new UsageError('missing command');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof PodstoreError) {
      err.write(`${e.status} ${e.problem?.title ?? ''}: ${e.message}\n`);
      return 1;
    }
    err.write(`${(e as Error).message}\n`);
    return 1;
  }
}

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, token: { type: 'string' } },
    allowPositionals: true,
  });
  return {
    url: values.url ?? process.env.PODSTORE_URL ?? 'http://127.0.0.1:8080',
    token: values.token ?? process.env.PODSTORE_TOKEN,
    words: positionals,
  };
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
