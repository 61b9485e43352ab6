/**
 * The command's exit codes, for shell scripts: 0 done, 1 the operation failed (the server answered an
 * error, could not be reached, or a local file could not be read or written), 2 the command line was
 * wrong (nothing was sent).
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit codes as the help and docs/cli.md describe them. */
export const EXIT_CODE_HELP: readonly (readonly [ExitCode, string])[] = [
  [ExitCode.ok, 'success'],
  [
    ExitCode.failed,
    'the operation failed: the server answered an error (its detail and request id go to stderr), ' +
      'could not be reached, or a local file could not be read or written',
  ],
  [
    ExitCode.usage,
    'usage error: unknown command, missing or extra arguments, unknown option, bad URL or JSON; nothing was sent',
  ],
];
