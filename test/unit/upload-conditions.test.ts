/**
 * A resumable upload keeps its creating request's preconditions (worker/uploads/uploads-service.ts):
 * `If-None-Match: *` holds at creation and again when the last byte writes the file, so a name taken
 * while the upload runs is 412 and the other file stays; `If-Match` names the version to replace; a
 * completed upload says whether its write created the file. On the in-memory store.
 */
import { describe, expect, it } from 'vitest';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { UploadsService } from '../../worker/uploads/uploads-service.ts';
import { memoryWorker } from '../helpers/memory-worker.ts';

const ID = ['6f1c2d3e-0000-4000-8000-000000000001', '6f1c2d3e-0000-4000-8000-000000000002'];

async function* bytes(text: string) {
  yield Buffer.from(text);
}

async function setUp() {
  const worker = memoryWorker();
  await worker.signUp('alice');
  const accountSince = async (name: string) =>
    (await worker.users.find(name).catch(() => undefined))?.createdAt;
  const uploads = new UploadsService(worker.store, worker.files, accountSince, {
    ttlMs: 60_000,
    segmentBytes: 1024,
    maxOpenPerCaller: 8,
    maxFileBytes: 1 << 20,
  });
  const put = async (path: string, text: string) => {
    const plan = await worker.files.planWrite({
      owner: 'alice',
      path,
      contentType: 'text/plain',
      author: 'alice',
      conditions: {},
    });
    return worker.files.commitWrite(plan, bytes(text));
  };
  const read = async (path: string) => {
    const got = await worker.files.openRead('alice', 'alice', path);
    if (got.status !== 200) throw new Error(`no ${path}`);
    const chunks: Buffer[] = [];
    for await (const chunk of got.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  };
  const create = (id: string, path: string, conditions: Record<string, string>) =>
    uploads.create({
      owner: 'alice',
      actor: 'alice',
      id,
      path,
      contentType: 'text/plain',
      length: 6,
      metadata: {},
      conditions,
    });
  return { uploads, put, read, create };
}

const codeOf = async (work: Promise<unknown>) =>
  work.then(
    () => 'done',
    (error: unknown) => (error instanceof CommandError ? error.code : error),
  );

describe('the preconditions of a resumable upload', () => {
  it('If-None-Match: * is refused at creation when the name is taken, and at the last byte when taken meanwhile', async () => {
    const { uploads, put, read, create } = await setUp();
    await put('taken.txt', 'mine');
    expect(await codeOf(create(ID[0] as string, 'taken.txt', { ifNoneMatch: '*' }))).toBe(
      ErrorCode.PRECONDITION_FAILED,
    );
    await create(ID[1] as string, 'later.txt', { ifNoneMatch: '*' });
    await uploads.patch('alice', 'alice', ID[1] as string, 0, bytes('abc'));
    await put('later.txt', 'other');
    expect(await codeOf(uploads.patch('alice', 'alice', ID[1] as string, 3, bytes('def')))).toBe(
      ErrorCode.PRECONDITION_FAILED,
    );
    expect(await read('later.txt')).toBe('other');
  });

  it('If-Match replaces only the version named; a completed upload says whether it created the file', async () => {
    const { uploads, put, read, create } = await setUp();
    const first = await put('doc.txt', 'v1');
    await create(ID[0] as string, 'doc.txt', { ifMatch: `"${first.info.etag}"` });
    await put('doc.txt', 'v2'); // another version meanwhile
    expect(await codeOf(uploads.patch('alice', 'alice', ID[0] as string, 0, bytes('abcdef')))).toBe(
      ErrorCode.PRECONDITION_FAILED,
    );
    expect(await read('doc.txt')).toBe('v2');
    await create(ID[1] as string, 'new.txt', {});
    const done = await uploads.patch('alice', 'alice', ID[1] as string, 0, bytes('abcdef'));
    expect([done.complete, done.created]).toEqual([true, true]);
    expect(await read('new.txt')).toBe('abcdef');
  });
});
