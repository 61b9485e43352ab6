/**
 * The command catalogue (protocol/commands.ts) and the handlers agree: every command in it is registered
 * by a worker module, nothing is registered outside it, and the api calls only commands in it (the type
 * checker enforces the calls; this test finds a catalogue entry nobody serves).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName, commandsOf, SERVICES, serviceOf } from '../../protocol/commands.ts';

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
