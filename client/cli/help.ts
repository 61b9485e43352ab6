/** The help texts: the command list, a group's commands, one command's usage. All go to stdout. */
import { COMMANDS, commandsOf, GROUPS } from './catalogue.ts';
import { type CommandGroup, type CommandSpec, usageLine } from './command.ts';
import { EXIT_CODE_HELP } from './exit-codes.ts';
import { COMMAND_OPTIONS, GLOBAL_OPTIONS, type OptionSpec, optionLabel } from './options.ts';
import { CLI_ENVIRONMENT } from './settings.ts';

const LINE_WIDTH = 100;

export function generalHelp(): string {
  const commands = COMMANDS.map(
    (c) =>
      [[c.name, ...c.args.map((a) => (a.optional ? `[${a.name}]` : a.name))].join(' '), c.summary] as const,
  );
  return [
    'podstore: the command line of a podstore server (personal data pods over HTTP).',
    '',
    'usage: podstore [options] <command> [arguments]',
    '       podstore <command> --help      the usage of one command (also: podstore help <command>)',
    '',
    'commands:',
    ...table(commands),
    '',
    'options (any command; they may come before or after it):',
    ...optionsTable(GLOBAL_OPTIONS),
    '',
    'environment:',
    ...table(CLI_ENVIRONMENT.map(([name, def, meaning]) => [name, `${meaning} (default: ${def})`] as const)),
    '',
    ...exitCodes(),
    '',
    'examples:',
    "  export PODSTORE_URL=https://pods.example.org PODSTORE_TOKEN='<your token>'",
    '  podstore put scan.dcm alice/medical/scan.dcm',
    '  podstore ls alice/medical/',
    '',
  ].join('\n');
}

export function groupHelp(group: CommandGroup): string {
  const commands = commandsOf(group);
  return [
    `podstore ${group.name}: ${group.summary}.`,
    '',
    `usage: podstore ${group.name} <command> [arguments]`,
    `       podstore ${group.name} <command> --help`,
    '',
    'commands:',
    ...table(commands.map((c) => [usageLine(c).replace(/^podstore /, ''), c.summary] as const)),
    '',
    'options: see podstore --help',
    '',
    ...exitCodes(),
    '',
  ].join('\n');
}

/**
 * The usage of one command. `common: false` leaves out the options every command takes and the exit
 * codes (docs/cli.md gives those once).
 */
export function commandHelp(command: CommandSpec, { common = true } = {}): string {
  const own = Object.fromEntries(
    (command.options ?? []).map((name) => [name, COMMAND_OPTIONS[name]] as const),
  ) as Record<string, OptionSpec>;
  return [
    `podstore ${command.name}: ${command.summary}.`,
    '',
    `usage: ${usageLine(command)}`,
    '',
    ...wrap(command.description, 2),
    '',
    ...(command.args.length === 0
      ? []
      : ['arguments:', ...table(command.args.map((a) => [a.name, a.meaning] as const)), '']),
    ...(common
      ? ['options:', ...optionsTable({ ...own, ...GLOBAL_OPTIONS }), '', ...exitCodes(), '']
      : Object.keys(own).length === 0
        ? []
        : ['options (besides those of every command):', ...optionsTable(own), '']),
    `example${command.examples.length === 1 ? '' : 's'}:`,
    ...command.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** The help of a command, of a group (`podstore users --help`), or the general one. */
export function helpFor(topic: CommandSpec | CommandGroup | undefined): string {
  if (topic === undefined) return generalHelp();
  return GROUPS.includes(topic as CommandGroup)
    ? groupHelp(topic as CommandGroup)
    : commandHelp(topic as CommandSpec);
}

function exitCodes(): string[] {
  return ['exit codes:', ...table(EXIT_CODE_HELP.map(([code, meaning]) => [String(code), meaning] as const))];
}

function optionsTable(options: Record<string, OptionSpec>): string[] {
  return table(
    Object.entries(options).map(([name, spec]) => [optionLabel(name, spec), spec.meaning] as const),
  );
}

/** Two columns: the left one padded (a long left entry gets a line of its own), the right one wrapped. */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.min(40, Math.max(0, ...rows.map(([left]) => left.length)) + 2);
  const pad = ' '.repeat(2 + width);
  return rows.flatMap(([left, right]) => {
    const lines = wrap(right, 0, LINE_WIDTH - 2 - width);
    return left.length + 2 > width
      ? [`  ${left}`, ...lines.map((l) => pad + l)]
      : [`  ${left.padEnd(width)}${lines[0] ?? ''}`, ...lines.slice(1).map((l) => pad + l)];
  });
}

function wrap(text: string, indent: number, width = LINE_WIDTH - indent): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`);
}
