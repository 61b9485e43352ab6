/**
 * podstore's command line, over the SDK: `podstore --help` lists the commands, `podstore <command>
 * --help` gives the usage of each (docs/cli.md has them all). This module only wires: the command line
 * is parsed by cli/parse-command-line.ts, the commands live in cli/*-commands.ts (listed in
 * cli/catalogue.ts), failures are described by cli/report-failure.ts.
 *
 * Exit codes (cli/exit-codes.ts): 0 success, 1 the operation failed (the server's problem, or an
 * unreachable server, goes to stderr), 2 usage error (nothing was sent).
 */
import type { CommandContext, Io } from './cli/command.ts';
import { ExitCode } from './cli/exit-codes.ts';
import { helpFor } from './cli/help.ts';
import { type CommandLine, parseCommandLine } from './cli/parse-command-line.ts';
import { describeFailure } from './cli/report-failure.ts';
import { resolveSettings, type Settings } from './cli/settings.ts';
import { UsageError } from './cli/usage-error.ts';
import { defaultStateFile } from './resumable-upload.ts';
import { PodstoreClient } from './sdk.ts';

export type { Io } from './cli/command.ts';
export { ExitCode } from './cli/exit-codes.ts';

/** A transfer this large draws a progress bar on a terminal by default. */
const PROGRESS_THRESHOLD = 4 * 2 ** 20;

export interface CliEnvironment {
  /** Where PODSTORE_URL and PODSTORE_TOKEN are read (default: process.env). */
  env?: Record<string, string | undefined>;
  /** The fetch the SDK uses (default: the platform's). */
  fetch?: typeof fetch;
}

export async function runCli(
  argv: readonly string[],
  io: Io = process,
  environment: CliEnvironment = {},
): Promise<number> {
  let line: CommandLine;
  let settings: Settings;
  try {
    line = parseCommandLine(argv);
    if (line.kind === 'help') {
      io.stdout.write(helpFor(line.topic));
      return ExitCode.ok;
    }
    settings = resolveSettings(line.flags, environment.env ?? process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(e.hint());
    return ExitCode.usage;
  }
  if (settings.warning !== undefined) io.stderr.write(`podstore: ${settings.warning}\n`);

  const { command, args, options, flags } = line;
  const context: CommandContext = {
    client: new PodstoreClient({
      baseUrl: settings.url,
      ...(settings.token === undefined ? {} : { token: settings.token }),
      ...(environment.fetch === undefined ? {} : { fetch: environment.fetch }),
    }),
    io,
    options,
    stateFile: defaultStateFile(environment.env ?? process.env),
    print: (human, value) => io.stdout.write(`${flags.json ? JSON.stringify(value) : human}\n`),
    wantsProgress: (size) =>
      options.progress ?? (size >= PROGRESS_THRESHOLD && io.stderr.isTTY === true && !flags.json),
  };
  try {
    await command.run(context, args);
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(e.hint());
      return ExitCode.usage;
    }
    io.stderr.write(describeFailure(e, flags.json, settings.url));
    return ExitCode.failed;
  }
}
