/**
 * Generates docs/cli.md, the reference of the `podstore` command, from the command catalogue and the
 * help texts, so it cannot drift from the code: `npm run docs:cli` writes it; test/unit/cli-docs.test.ts
 * fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../client/cli/catalogue.ts';
import { EXIT_CODE_HELP } from '../client/cli/exit-codes.ts';
import { commandHelp } from '../client/cli/help.ts';
import { GLOBAL_OPTIONS, optionLabel } from '../client/cli/options.ts';
import { CLI_ENVIRONMENT } from '../client/cli/settings.ts';

export const CLI_DOC_PATH = fileURLToPath(new URL('../docs/cli.md', import.meta.url));

const INTRO = `# The podstore command line

[← README](../README.md)

\`podstore\` talks to a podstore api over HTTP, through the SDK in \`client/sdk.ts\`: accounts and
profiles, files in pods, health. This page is generated from the command catalogue
(\`client/cli/catalogue.ts\`) and the help texts by \`npm run docs:cli\`; a unit test fails when it is
out of date. \`podstore --help\` and \`podstore <command> --help\` print the same.

## Running it

\`\`\`sh
npm install                   # also compiles the command to dist/client/ (the prepare script)
npx podstore --help           # from the repository
npm link                      # optional: puts podstore on your PATH, then: podstore --help
\`\`\`

The package's \`bin\` is \`bin/podstore.js\`, a plain JavaScript launcher that loads the compiled
\`dist/client/main.js\`: the command runs on Node 20 as it is, without TypeScript or a loader at run
time. \`npm install\` compiles it (\`prepare\` runs \`npm run build:cli\`, \`tsc -p tsconfig.cli.json\`,
about 4 s). It skips the build where there is nothing to build it with: the image's dependency stages
(no sources yet) and an install without development dependencies (no TypeScript); the launcher then
says to run \`npm run build:cli\`. After changing \`client/\`, run \`npm run build:cli\` again, or run
the sources directly with \`npm run cli -- <command>\` (through tsx, a development dependency).

A compiled command rather than a launcher that registers a TypeScript loader (\`node --import tsx\`):
the loader would have to be a production dependency, would compile every module on each run, and
the command would break the day the loader and Node disagree.

## Settings

A flag wins over its environment variable, which wins over the default. Options may come before or
after the command.

| flag | variable | default | meaning |
|---|---|---|---|
`;

const SECURITY = `
The token is sent in the \`Authorization\` header only: it is never put in a URL and never printed (the
exception is the new account's token, shown once by \`users create\`, and by a \`users put\` that
creates the account). A server URL
with a user name or password in it is refused, and so is a token with characters a header cannot carry;
neither is echoed. Prefer \`PODSTORE_TOKEN\` to \`--token\`: a command's arguments are visible to the
other users of the machine (\`ps\`). Sending a token over plain \`http://\` to a host that is not
loopback prints a warning on stderr: use \`https://\`.

## Output and exit codes

Results go to stdout: text for people, or one JSON value with \`--json\`. Errors, warnings and progress
bars go to stderr. A server error prints its status, title, detail, error code and request id
(\`404 Not Found: no such file [code] (request id …)\`; the request id is the one in the server's logs);
with \`--json\` it prints the problem document with \`requestId\`. A usage error prints one line and the
help to read (\`Try 'podstore put --help'.\`).

| code | meaning |
|---|---|
`;

export function renderCliDoc(): string {
  const envOf = new Map<string, readonly [string, string, string]>(
    CLI_ENVIRONMENT.map((row) => [row[0].replace(/^PODSTORE_/, '').toLowerCase(), row]),
  );
  const settings = Object.entries(GLOBAL_OPTIONS).map(([name, spec]) => {
    const env = envOf.get(name);
    return `| \`${optionLabel(name, spec)}\` | ${env === undefined ? '' : `\`${env[0]}\``} | ${env === undefined ? '' : env[1] === 'none' ? '(none)' : `\`${env[1]}\``} | ${cell(spec.meaning)} |`;
  });
  const codes = EXIT_CODE_HELP.map(([code, meaning]) => `| ${code} | ${cell(meaning)} |`);
  const commands = COMMANDS.map(
    (c) => `### podstore ${c.name}\n\n\`\`\`\n${commandHelp(c, { common: false }).trimEnd()}\n\`\`\`\n`,
  );
  const index = COMMANDS.map(
    (c) => `| [\`${c.name}\`](#${`podstore ${c.name}`.replaceAll(' ', '-')}) | ${cell(c.summary)} |`,
  );
  return [
    INTRO + settings.join('\n'),
    SECURITY + codes.join('\n'),
    '',
    '## Commands',
    '',
    '| command | what it does |',
    '|---|---|',
    ...index,
    '',
    commands.join('\n'),
  ].join('\n');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CLI_DOC_PATH, renderCliDoc());
  console.log(`wrote ${CLI_DOC_PATH}`);
}
