/** docs/configuration.md documents every environment variable the processes read, with its default. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiSpec } from '../../api/config.ts';
import { brokerSpec } from '../../broker/config.ts';
import { describeSpec } from '../../runtime/env.ts';
import { CONFIG_DOC_PATH, renderConfigDoc } from '../../scripts/config-doc.ts';
import { workerSpec } from '../../worker/config.ts';

const doc = readFileSync(CONFIG_DOC_PATH, 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1], (m[2] ?? '').trim()] as const),
);

describe('configuration reference (docs/configuration.md)', () => {
  it('is what npm run docs:config generates from the specs', () => {
    expect(doc).toBe(renderConfigDoc());
  });
  for (const [name, spec] of Object.entries({ api: apiSpec, broker: brokerSpec, worker: workerSpec })) {
    it.each(describeSpec(spec))(`${name}: $env is documented with its default`, ({ env, default: def }) => {
      expect(rows.has(env)).toBe(true);
      expect(rows.get(env)).toBe(def === '' ? '(empty)' : `\`${def}\``);
    });
  }
});
