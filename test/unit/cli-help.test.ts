/** `podstore --help` and `podstore <command> --help`: every command has its usage, on stdout, exit 0. */
import { describe, expect, it } from 'vitest';
import { COMMANDS, GROUPS } from '../../client/cli/catalogue.ts';
import { usageLine } from '../../client/cli/command.ts';
import { runCli } from '../../client/cli.ts';
import { cliIo } from '../helpers/cli-io.ts';

async function run(argv: string[]) {
  const io = cliIo();
  const fetched: string[] = [];
  const code = await runCli(argv, io.streams, {
    env: {},
    fetch: async (input) => {
      fetched.push(String(input));
      throw new Error('help must not call the server');
    },
  });
  return { code, out: io.out(), err: io.err(), fetched };
}

describe('CLI help', () => {
  it('lists every command, the options, the environment and the exit codes', async () => {
    const { code, out, err, fetched } = await run(['--help']);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(fetched).toEqual([]);
    for (const command of COMMANDS) expect(out).toContain(`  ${command.name} `);
    for (const option of ['--url <url>', '--token <token>', '--json', '-h, --help'])
      expect(out).toContain(option);
    expect(out).toMatch(/PODSTORE_URL\s+.*default: http:\/\/127\.0\.0\.1:8080/);
    expect(out).toMatch(/PODSTORE_TOKEN\s+.*default: none/);
    expect(out).toMatch(
      /exit codes:\n {2}0 +success\n {2}1 +the operation failed[\s\S]*\n {2}2 +usage error/,
    );
    expect((await run(['help'])).out).toBe(out);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    'podstore %s --help gives its usage',
    async (name, command) => {
      const words = name.split(' ');
      for (const argv of [
        [...words, '--help'],
        [...words, '-h'],
        ['help', ...words],
      ]) {
        const { code, out, err, fetched } = await run(argv);
        expect(code).toBe(0);
        expect(err).toBe('');
        expect(fetched).toEqual([]);
        expect(out).toContain(`podstore ${name}: ${command.summary}`);
        expect(out).toContain(`usage: ${usageLine(command)}`);
        for (const arg of command.args)
          expect(out).toMatch(new RegExp(`\\n {2}${escapeRegExp(arg.name)} +\\S`));
        for (const option of command.options ?? []) expect(out).toContain(`--${option}`);
        expect(out).toContain('--url <url>');
        expect(out).toContain('exit codes:');
        expect(out).toMatch(/examples?:\n {2}podstore /);
        for (const example of command.examples)
          expect(example).toMatch(new RegExp(`podstore (--\\S+ )*${name}\\b`));
      }
    },
  );

  it.each(GROUPS.map((g) => [g.name]))('podstore %s --help lists its commands', async (name) => {
    const { code, out } = await run([name, '--help']);
    expect(code).toBe(0);
    const members = COMMANDS.filter((c) => c.name.startsWith(`${name} `));
    expect(members.length).toBeGreaterThan(0);
    for (const command of members) expect(out).toContain(`  ${usageLine(command).replace(/^podstore /, '')}`);
  });

  it('keeps the help readable: no line over 100 characters', async () => {
    const texts = [
      (await run(['--help'])).out,
      ...(await Promise.all(COMMANDS.map((c) => run([...c.name.split(' '), '--help'])))).map((r) => r.out),
    ];
    for (const text of texts)
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
