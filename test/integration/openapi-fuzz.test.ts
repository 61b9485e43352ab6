/**
 * The OpenAPI fuzz test: schemathesis, driven by the api's own document (GET /openapi.json), sends
 * generated requests (valid and invalid) to every operation of a real stack (MinIO, NATS, a broker, 2
 * workers, the api) as an account holding a bearer token, and checks each answer: no 5xx, a documented
 * status, a documented content type, a body and headers that match the document. A bounded number of
 * cases per operation keeps it to a minute or two on 2 cores.
 *
 * The operator's routes (setting a quota, counting it again) get a run of their own with the
 * operator's token. Two operations are left out because they end the run's own credentials: deleting the account and
 * revoking a token (schemathesis learns token ids from the listing). Both are covered by
 * users-stack.test.ts and permissions.test.ts, and their schemas by test/unit/openapi-document.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { provisionSchemathesis, runSchemathesis } from '../helpers/schemathesis.ts';
import { startTestStack } from '../helpers/test-stack.ts';

/** The owner the document's examples name: the fuzzer acts on this pod, with its token. */
const OWNER = 'patient';
/** The operator's token: the quota's limits are the operator's to set. */
const ADMIN_TOKEN = 'operator-secret-for-the-openapi-fuzz-test';
/** Cases per operation and phase: enough to find the bugs it found, small enough for 2 cores. */
const MAX_EXAMPLES = 20;

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
let st: string;
let token: string;
let work: string;

beforeAll(async () => {
  [st, minio, nats, work] = await Promise.all([
    provisionSchemathesis(),
    startMinio(),
    startNats({ jetstream: true }),
    mkdtemp(path.join(tmpdir(), 'podstore-fuzz-')),
  ]);
  stack = await startTestStack({
    workers: 2,
    env: {
      ...minioEnv(minio, 'openapi-fuzz'),
      NATS_URL: nats.url,
      PODSTORE_ADMIN_TOKEN: ADMIN_TOKEN,
    },
  });
  token = await signUp(stack.apiUrl, OWNER, { firstName: 'Pat' });
  // Something for the reads to find: the file the document's examples name, and a folder.
  for (const file of ['medical/lab-2026-11.pdf', 'medical/2026/scan.txt']) {
    const put = await fetch(`${stack.apiUrl}/v1/users/${OWNER}/files/${file}`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/pdf' },
      body: 'a lab result',
    });
    expect(put.status).toBe(201);
  }
  // Path parameters that name an account name this one: otherwise nearly every case is a 404.
  await writeFile(
    path.join(work, 'schemathesis.toml'),
    [
      '[parameters]',
      `"path.owner" = "${OWNER}"`,
      `"path.username" = "${OWNER}"`,
      // The events stream never ends: read each for a second (the events of the run arrive at once).
      '[[operations]]',
      'include-operation-id = "streamEvents"',
      'request-timeout = 1',
      '',
    ].join('\n'),
  );
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([minio?.stop(), nats?.stop()]);
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
];

/** Runs schemathesis on the stack's document with `bearerToken`; more arguments select operations. */
function fuzz(bearerToken: string, selection: string[], timeoutMs: number) {
  return runSchemathesis(
    st,
    [
      '--config-file',
      path.join(work, 'schemathesis.toml'),
      'run',
      `${stack.apiUrl}/openapi.json`,
      '--header',
      `Authorization: Bearer ${bearerToken}`,
      '--checks',
      CHECKS.join(','),
      '--phases',
      'examples,coverage,fuzzing',
      '--mode',
      'all',
      '--max-examples',
      String(MAX_EXAMPLES),
      ...selection,
      // One thread: CPython 3.11's ast.parse is not safe across threads (hypothesis calls it to describe
      // its filters), and two workers now and then crash schemathesis itself ("AST constructor
      // recursion depth mismatch"), failing the test for no fault of the api.
      '--workers',
      '1',
      '--request-timeout',
      '10',
      '--no-color',
      '--generation-database',
      'none',
    ],
    work,
    timeoutMs,
  );
}

/** How many operations the served document has (every path's methods). */
async function operationCount(): Promise<number> {
  const document = (await (await fetch(`${stack.apiUrl}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  return Object.values(document.paths).reduce(
    (n, item) => n + Object.keys(item).filter((key) => methods.has(key)).length,
    0,
  );
}

const casesOf = (output: string) => Number(/(\d+) generated/.exec(output)?.[1] ?? 0);

describe('the api against its OpenAPI document', () => {
  it('answers every generated request of the owner without a 5xx, as the document says', {
    timeout: 240_000,
  }, async () => {
    const run = await fuzz(
      token,
      ['--exclude-operation-id', 'deleteUser', '--exclude-operation-id', 'revokeToken'],
      220_000,
    );
    const summary = run.output.slice(-6000);
    expect(run.exitCode, summary).toBe(0);
    // It did reach the operations: many cases, every operation but the two left out.
    expect(casesOf(run.output), summary).toBeGreaterThan(500);
    const operations = await operationCount();
    expect(run.output, summary).toMatch(new RegExp(`Tested: ${operations - 2}\\b`));
    // And as the owner: its token still stands, so the cases were not all refused 401.
    const me = await fetch(`${stack.apiUrl}/v1/users/${OWNER}`, { headers: bearer(token) });
    expect(me.status).toBe(200);
  });

  it("answers the operator's quota requests as the document says", { timeout: 120_000 }, async () => {
    const run = await fuzz(ADMIN_TOKEN, ['--include-tag', 'quota'], 100_000);
    const summary = run.output.slice(-6000);
    expect(run.exitCode, summary).toBe(0);
    expect(run.output, summary).toMatch(/Tested: 3\b/);
    expect(casesOf(run.output), summary).toBeGreaterThan(50);
  });
});
