/** The README's configuration table documents every environment variable the processes read, with its default. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiSpec } from '../../api/config.ts';
import { brokerSpec } from '../../broker/config.ts';
import { describeSpec } from '../../protocol/process/env.ts';
import { workerSpec } from '../../worker/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const rows = new Map(
  [...readme.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1], (m[2] ?? '').trim()] as const),
);

describe('README configuration table', () => {
  for (const [name, spec] of Object.entries({ api: apiSpec, broker: brokerSpec, worker: workerSpec })) {
    it.each(describeSpec(spec))(`${name}: $env is documented with its default`, ({ env, default: def }) => {
      expect(rows.has(env)).toBe(true);
      expect(rows.get(env)).toBe(def === '' ? '(empty)' : `\`${def}\``);
    });
  }
});
