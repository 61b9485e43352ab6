#!/usr/bin/env node
import { ExitCode } from './cli/exit-codes.ts';
/** Entry point of the `podstore` command (bin/podstore.js runs its compiled form, dist/client/main.js). */
import { runCli } from './cli.ts';

// A reader that stops early (`podstore get a/b - | head`) closes the pipe: end quietly, not with a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(ExitCode.failed);
});

process.exitCode = await runCli(process.argv.slice(2));
