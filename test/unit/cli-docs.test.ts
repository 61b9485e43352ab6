/** docs/cli.md is what `npm run docs:cli` generates from the command catalogue and the help texts. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../client/cli/catalogue.ts';
import { CLI_DOC_PATH, renderCliDoc } from '../../scripts/cli-doc.ts';

const doc = readFileSync(CLI_DOC_PATH, 'utf8');

describe('CLI reference (docs/cli.md)', () => {
  it('is what npm run docs:cli generates', () => {
    expect(doc).toBe(renderCliDoc());
  });

  it('documents every command, both settings with their defaults, and the exit codes', () => {
    for (const command of COMMANDS) expect(doc).toContain(`### podstore ${command.name}\n`);
    expect(doc).toContain('| `--url <url>` | `PODSTORE_URL` | `http://127.0.0.1:8080` |');
    expect(doc).toContain('| `--token <token>` | `PODSTORE_TOKEN` | (none) |');
    for (const code of [0, 1, 2]) expect(doc).toMatch(new RegExp(`^\\| ${code} \\| \\S`, 'm'));
  });
});
