/** What a subcommand of the CLI declares (for the parser and the help) and what it runs with. */
import type { PodstoreClient } from '../sdk.ts';
import { COMMAND_OPTIONS, type CommandOptionName, type OptionSpec } from './options.ts';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface CommandContext {
  client: PodstoreClient;
  io: Io;
  /** Values of the command's own options (see `CommandSpec.options`). */
  options: {
    type?: string | undefined;
    progress?: boolean | undefined;
    resume?: boolean | undefined;
    limit?: string | undefined;
  };
  /** Where interrupted resumable uploads are remembered. */
  stateFile: string;
  /** Prints the human text, or the value as one JSON line with --json. */
  print(human: string, value: unknown): void;
  /** Whether a transfer of `size` bytes draws a progress bar. */
  wantsProgress(size: number): boolean;
}

export interface ArgumentSpec {
  /** As shown in usage lines: `<owner>/<path>`. */
  name: string;
  meaning: string;
  optional?: boolean;
}

export interface CommandSpec {
  /** The words that name it: `put`, `users create`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** What it does, in a few sentences. */
  description: string;
  /** Positional arguments, in order; optional ones last. */
  args: readonly ArgumentSpec[];
  options?: readonly CommandOptionName[];
  examples: readonly string[];
  run(context: CommandContext, args: readonly string[]): Promise<void>;
}

/** A group of commands under one word (`users`), with its own help. */
export interface CommandGroup {
  name: string;
  summary: string;
}

export function usageLine(command: CommandSpec): string {
  const args = command.args.map((a) => (a.optional ? `[${a.name}]` : a.name));
  const names = command.options ?? [];
  const options = names
    .filter((name) => name !== 'no-progress')
    .map((name) => {
      if (name === 'progress' && names.includes('no-progress')) return '[--[no-]progress]';
      const value = (COMMAND_OPTIONS[name] as OptionSpec).value;
      return `[--${name}${value === undefined ? '' : ` ${value}`}]`;
    });
  return ['podstore', command.name, ...args, ...options].join(' ');
}
