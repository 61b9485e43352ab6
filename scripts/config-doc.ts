/**
 * Generates docs/configuration.md from the processes' configuration specs, so the reference cannot drift
 * from the code: `npm run docs:config` writes it; test/unit/config-docs.test.ts fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiSpec } from '../api/config.ts';
import { brokerSpec } from '../broker/config.ts';
import { describeSpec, type Spec } from '../runtime/env.ts';
import { workerSpec } from '../worker/config.ts';

export const CONFIG_DOC_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

const SPECS: Record<string, Spec> = { api: apiSpec, broker: brokerSpec, worker: workerSpec };

const HEADER = `# Configuration

[← README](../README.md)

Every process reads its settings from environment variables only, so the same code runs under
\`npm start\`, compose and Kubernetes. Logs are pino JSON lines on stdout (pretty on a terminal), each
with the request id that the api gave the request (or took from a sane \`X-Request-Id\`).

This page is generated from the settings each process declares (\`api/config.ts\`, \`broker/config.ts\`,
\`worker/config.ts\`) by \`npm run docs:config\`; a unit test fails when it is out of date. A setting read
by several processes must be given the same value to each.

| variable | default | read by | meaning |
|---|---|---|---|
`;

/** One row per variable, in the order the api, the broker and the worker declare them. */
export function renderConfigDoc(): string {
  const rows = new Map<string, { default: string; doc: string; readers: string[] }>();
  for (const [process, spec] of Object.entries(SPECS)) {
    for (const setting of describeSpec(spec)) {
      const row = rows.get(setting.env);
      if (row === undefined)
        rows.set(setting.env, { default: setting.default, doc: setting.doc, readers: [process] });
      else if (row.default !== setting.default)
        throw new Error(`${setting.env} has two defaults: ${row.default} and ${setting.default}`);
      else row.readers.push(process);
    }
  }
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = [...rows].map(
    ([env, row]) =>
      `| \`${env}\` | ${row.default === '' ? '(empty)' : `\`${row.default}\``} | ${row.readers.join(', ')} | ${cell(row.doc)} |`,
  );
  return `${HEADER}${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_DOC_PATH, renderConfigDoc());
  console.log(`wrote ${CONFIG_DOC_PATH}`);
}
