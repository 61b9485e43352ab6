/** Every option of the command line, with its meaning: the parser and the help both read this table. */

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help (string options). */
  value?: string;
  meaning: string;
}

/** Options any command takes. */
export const GLOBAL_OPTIONS = {
  url: {
    type: 'string',
    value: '<url>',
    meaning: 'the api to talk to (default: PODSTORE_URL, else http://127.0.0.1:8080)',
  },
  token: {
    type: 'string',
    value: '<token>',
    meaning:
      'the bearer token to send (default: PODSTORE_TOKEN, else none); prefer the variable, ' +
      'arguments are visible to other users of the machine',
  },
  json: {
    type: 'boolean',
    meaning: 'machine-readable output: JSON on stdout, and errors as JSON on stderr',
  },
  help: { type: 'boolean', short: 'h', meaning: 'show the help (of the command, when one is named)' },
} as const satisfies Record<string, OptionSpec>;

/** Options only some commands take (each command lists its own). */
export const COMMAND_OPTIONS = {
  type: {
    type: 'string',
    value: '<content-type>',
    meaning: "the file's media type (default application/octet-stream)",
  },
  progress: {
    type: 'boolean',
    meaning: 'draw a progress bar on stderr (default: on a terminal, for 4 MiB or more, without --json)',
  },
  'no-progress': { type: 'boolean', meaning: 'never draw a progress bar' },
  limit: {
    type: 'string',
    value: '<n>',
    meaning: 'show at most n hits, from 1 to 50 (default 20)',
  },
  'no-resume': {
    type: 'boolean',
    meaning:
      'send the file in one PUT even when it is large (default: a file of 16 MiB or more goes up resumably, ' +
      'and running the same put again after an interruption goes on where it stopped)',
  },
} as const satisfies Record<string, OptionSpec>;

export type CommandOptionName = keyof typeof COMMAND_OPTIONS;

/** The left column of an option in the help: `-h, --help`, `--url <url>`. */
export function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short === undefined ? '' : `-${spec.short}, `;
  return `${short}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
}
