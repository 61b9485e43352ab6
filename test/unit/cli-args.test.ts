/** The CLI's command line: which command, which arguments and options, and what is a usage error. */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../client/cli/parse-command-line.ts';
import { UsageError } from '../../client/cli/usage-error.ts';

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('CLI command line', () => {
  it('finds a command of one word or of a group, with its arguments and options anywhere', () => {
    const put = parseCommandLine(['--json', 'put', 'scan.dcm', 'alice/medical/scan.dcm', '--type', 'x/y']);
    expect(put).toMatchObject({
      kind: 'run',
      command: { name: 'put' },
      args: ['scan.dcm', 'alice/medical/scan.dcm'],
      options: { type: 'x/y' },
      flags: { json: true, url: undefined, token: undefined },
    });
    const create = parseCommandLine(['users', 'create', 'alice', '{}', '--url', 'http://h:1']);
    expect(create).toMatchObject({ command: { name: 'users create' }, args: ['alice', '{}'] });
    expect(create.flags.url).toBe('http://h:1');
  });

  it('takes - as an argument (standard input or output), and --no-progress over the default', () => {
    expect(parseCommandLine(['put', '-', 'a/b'])).toMatchObject({ args: ['-', 'a/b'] });
    expect(parseCommandLine(['get', 'a/b', '--no-progress'])).toMatchObject({
      args: ['a/b'],
      options: { progress: false },
    });
    expect(parseCommandLine(['get', 'a/b', '--progress'])).toMatchObject({ options: { progress: true } });
    expect(parseCommandLine(['get', 'a/b'])).toMatchObject({ options: { progress: undefined } });
  });

  it('asks for help with --help, -h or the help word, for the whole CLI, a group or a command', () => {
    expect(parseCommandLine(['--help'])).toMatchObject({ kind: 'help', topic: undefined });
    expect(parseCommandLine(['help'])).toMatchObject({ kind: 'help', topic: undefined });
    expect(parseCommandLine(['put', '-h'])).toMatchObject({ kind: 'help', topic: { name: 'put' } });
    expect(parseCommandLine(['help', 'users', 'patch'])).toMatchObject({
      kind: 'help',
      topic: { name: 'users patch' },
    });
    expect(parseCommandLine(['users', '--help'])).toMatchObject({ kind: 'help', topic: { name: 'users' } });
    // Help wins over missing arguments: `podstore put --help` needs no file.
    expect(parseCommandLine(['users', 'put', '--help'])).toMatchObject({ kind: 'help' });
  });

  it.each([
    [[], 'no command given', undefined],
    [['frobnicate'], "unknown command 'frobnicate'", undefined],
    [['help', 'frobnicate'], "unknown command 'frobnicate'", undefined],
    [['users'], 'users needs a subcommand', 'users'],
    [['users', 'promote', 'bob'], "unknown command 'users promote'", 'users'],
    [['put', 'only-one'], 'put needs <owner>/<path>', 'put'],
    [['users', 'put', 'alice'], 'users put needs <json>', 'users put'],
    [['stat', 'a/b', 'extra'], 'stat takes at most 1 argument, got 2', 'stat'],
    [['health', 'now'], 'health takes no arguments, got 1', 'health'],
    [['ls', 'a/', '--type', 'x/y'], 'ls does not take --type', 'ls'],
    [['rm', 'a/b', '--progress'], 'rm does not take --progress', 'rm'],
    [
      ['get', 'a/b', '--progress', '--no-progress'],
      '--progress and --no-progress contradict each other',
      'get',
    ],
    [['ls', 'a/', '--bogus'], "unknown option '--bogus'", 'ls'],
    [['--url'], "option '--url <value>' argument missing", undefined],
    [['--json=yes', 'health'], "option '--json' does not take an argument", 'health'],
  ] as const)('%j is a usage error: %s', (argv, message, helpFor) => {
    const error = usageError([...argv]);
    expect(error.message).toBe(message);
    expect(error.helpFor).toBe(helpFor);
    expect(error.hint()).toBe(
      `podstore: ${message}\nTry 'podstore ${helpFor === undefined ? '' : `${helpFor} `}--help'.\n`,
    );
  });

  it('does not echo a token given to an option it does not know', () => {
    const error = usageError(['--tokn', 'pst_secret-value', 'health']);
    expect(error.hint()).not.toContain('pst_secret-value');
  });
});
