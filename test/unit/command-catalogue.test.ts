/**
 * The command catalogue (protocol/commands.ts) and the handlers agree: every command in it is registered
 * by a worker module, nothing is registered outside it, and the api calls only commands in it (the type
 * checker enforces the calls; this test finds a catalogue entry nobody serves).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_ARGS, checkArgs } from '../../protocol/command-args.ts';
import { COMMANDS, type CommandName, commandsOf, SERVICES, serviceOf } from '../../protocol/commands.ts';
import { type CommandContext, CommandRouter } from '../../worker/command-router.ts';

const root = new URL('../../', import.meta.url).pathname;

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

describe('the command catalogue', () => {
  it('lists exactly the commands the worker registers', async () => {
    const registered = new Set<string>();
    for (const file of await sources('worker')) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/\.register\(\s*'([a-z]+\.[a-zA-Z]+)'/g))
        registered.add(match[1] as string);
    }
    expect([...registered].sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it('names each service once and gives every command one', () => {
    expect(Object.keys(SERVICES).sort()).toEqual([...new Set(Object.values(COMMANDS))].sort());
    for (const command of Object.keys(COMMANDS) as CommandName[]) {
      expect(commandsOf(serviceOf(command))).toContain(command);
      expect(command.split('.')).toHaveLength(2);
    }
  });
});

describe('command arguments (protocol/command-args.ts)', () => {
  const ctx = {
    actor: 'alice',
    requestId: 'r1',
    deadline: Date.now() + 60_000,
    redelivered: false,
    logger: { warn: () => undefined, error: () => undefined },
    channel: {},
  } as unknown as CommandContext;
  const router = () => {
    const seen: unknown[] = [];
    const r = new CommandRouter().register('files.info', async (args) => {
      seen.push(args);
      return args.path.length;
    });
    return { r, seen };
  };

  it('declares the arguments of every command in the catalogue', () => {
    expect(Object.keys(COMMAND_ARGS).sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it('refuses a missing or mistyped argument as INVALID naming it, before the handler runs', async () => {
    const { r, seen } = router();
    expect(await r.execute('files.info', { owner: 'alice' }, ctx)).toEqual({
      ok: false,
      error: { code: 'invalid', detail: 'path is required' },
    });
    expect(await r.execute('files.info', { owner: 'alice', path: 7 }, ctx)).toEqual({
      ok: false,
      error: { code: 'invalid', detail: 'path must be string' },
    });
    expect(seen).toEqual([]);
  });

  it('passes well-formed arguments through, extra ones included', async () => {
    const { r, seen } = router();
    const args = { owner: 'alice', path: 'a/b.txt', from: 'a newer api' };
    expect(await r.execute('files.info', args, ctx)).toEqual({ ok: true, value: 7 });
    expect(seen).toEqual([args]);
  });

  it('checks nested values too (conditions are text)', () => {
    expect(() => checkArgs('files.get', { owner: 'a', path: 'b', conditions: { ifMatch: 3 } })).toThrow(
      'conditions.ifMatch must be string',
    );
    expect(checkArgs('files.get', { owner: 'a', path: 'b', conditions: { ifMatch: '"x"' } })).toMatchObject({
      conditions: { ifMatch: '"x"' },
    });
  });
});
