/**
 * The command line into what to do: the help of something, or a command with its arguments and option
 * values. Everything wrong with it is a UsageError (exit code 2); nothing here touches the network.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, GROUPS } from './catalogue.ts';
import type { CommandGroup, CommandSpec } from './command.ts';
import { COMMAND_OPTIONS, type CommandOptionName, GLOBAL_OPTIONS } from './options.ts';
import { UsageError } from './usage-error.ts';

export interface GlobalFlags {
  url: string | undefined;
  token: string | undefined;
  json: boolean;
}

export type CommandLine =
  | { kind: 'help'; topic: CommandSpec | CommandGroup | undefined; flags: GlobalFlags }
  | {
      kind: 'run';
      command: CommandSpec;
      args: string[];
      options: {
        type?: string | undefined;
        progress?: boolean | undefined;
        resume?: boolean | undefined;
        limit?: string | undefined;
      };
      flags: GlobalFlags;
    };

export function parseCommandLine(argv: readonly string[]): CommandLine {
  let parsed: ReturnType<typeof parseAll>;
  try {
    parsed = parseAll(argv);
  } catch (e) {
    throw new UsageError(shortParseError((e as Error).message), commandWords(argv));
  }
  const { values, positionals } = parsed;
  const flags: GlobalFlags = { url: values.url, token: values.token, json: values.json ?? false };
  const helpWord = positionals[0] === 'help';
  const words = helpWord ? positionals.slice(1) : positionals;
  const wantsHelp = helpWord || values.help === true;

  const found = findCommand(words);
  if (wantsHelp) {
    if (found.kind === 'unknown' && words.length > 0)
      throw new UsageError(`unknown command '${words.join(' ')}'`);
    return { kind: 'help', topic: found.kind === 'unknown' ? undefined : found.topic, flags };
  }
  if (found.kind === 'unknown')
    throw new UsageError(words.length === 0 ? 'no command given' : `unknown command '${words[0]}'`);
  if (found.kind === 'group') {
    const verb = words[1];
    throw new UsageError(
      verb === undefined
        ? `${found.topic.name} needs a subcommand`
        : `unknown command '${found.topic.name} ${verb}'`,
      found.topic.name,
    );
  }

  const command = found.topic;
  const args = words.slice(command.name.split(' ').length);
  checkOptions(command, values);
  checkArity(command, args);
  return {
    kind: 'run',
    command,
    args,
    options: {
      type: values.type,
      progress: values['no-progress'] === true ? false : values.progress,
      resume: values['no-resume'] === true ? false : undefined,
      limit: values.limit,
    },
    flags,
  };
}

type Found =
  | { kind: 'command'; topic: CommandSpec }
  | { kind: 'group'; topic: CommandGroup }
  | { kind: 'unknown' };

/** The longest command whose words start the positionals, else the group named by the first word. */
function findCommand(words: readonly string[]): Found {
  const two = words.slice(0, 2).join(' ');
  const command =
    COMMANDS.find((c) => c.name === two && words.length >= 2) ?? COMMANDS.find((c) => c.name === words[0]);
  if (command !== undefined) return { kind: 'command', topic: command };
  const group = GROUPS.find((g) => g.name === words[0]);
  return group === undefined ? { kind: 'unknown' } : { kind: 'group', topic: group };
}

function checkOptions(command: CommandSpec, values: Partial<Record<CommandOptionName, unknown>>): void {
  for (const name of Object.keys(COMMAND_OPTIONS) as CommandOptionName[]) {
    if (values[name] !== undefined && !(command.options ?? []).includes(name))
      throw new UsageError(`${command.name} does not take --${name}`, command.name);
  }
  if (values.progress !== undefined && values['no-progress'] !== undefined)
    throw new UsageError('--progress and --no-progress contradict each other', command.name);
}

function checkArity(command: CommandSpec, args: readonly string[]): void {
  const required = command.args.filter((a) => !a.optional);
  if (args.length < required.length) {
    const missing = required
      .slice(args.length)
      .map((a) => a.name)
      .join(' ');
    throw new UsageError(`${command.name} needs ${missing}`, command.name);
  }
  if (args.length > command.args.length)
    throw new UsageError(
      `${command.name} takes ${command.args.length === 0 ? 'no arguments' : `at most ${command.args.length} argument${command.args.length === 1 ? '' : 's'}`}, got ${args.length}`,
      command.name,
    );
}

function parseAll(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
}

/** The first sentence of node's message ("Unknown option '--x'. To specify a positional ..."). */
function shortParseError(message: string): string {
  const first = message.split(/\.\s/)[0] ?? message;
  return first
    .replace(/\.$/, '')
    .replace(/^Unknown option/, 'unknown option')
    .replace(/^Option/, 'option');
}

/** For the hint of an option error: the command the words name, if any. */
function commandWords(argv: readonly string[]): string | undefined {
  const words = argv.filter((w) => !w.startsWith('-'));
  const found = findCommand(words);
  return found.kind === 'unknown' ? undefined : found.topic.name;
}
