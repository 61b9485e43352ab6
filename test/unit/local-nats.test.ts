/** How `npm start` finds NATS (deploy/local/local-nats.ts): the one named, a binary found, or none. */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findNatsServer, PINNED_NATS_VERSION, planNats } from '../../deploy/local/local-nats.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'podstore-local-nats-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function binary(file: string, mode = 0o755): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, '#!/bin/sh\n');
  await chmod(file, mode);
  return file;
}

describe('finding a nats-server for the local runner', () => {
  it('takes NATS_BIN first, then the provision cache (the pinned version first), then PATH', async () => {
    const home = path.join(dir, 'home');
    const onPath = await binary(path.join(dir, 'path', 'nats-server'));
    const env: NodeJS.ProcessEnv = { PATH: path.dirname(onPath) };
    expect(findNatsServer(env, home)).toBe(onPath);

    const cacheBin = path.join(home, '.cache', 'podstore', 'bin');
    const older = await binary(path.join(cacheBin, 'nats-server-v2.10.0'));
    expect(findNatsServer(env, home)).toBe(older);
    const pinned = await binary(path.join(cacheBin, `nats-server-${PINNED_NATS_VERSION}`));
    expect(findNatsServer(env, home)).toBe(pinned);
    // The cache moves with PODSTORE_CACHE_DIR, as deploy/provision.sh's does.
    expect(findNatsServer({ ...env, PODSTORE_CACHE_DIR: path.join(dir, 'elsewhere') }, home)).toBe(onPath);

    const explicit = await binary(path.join(dir, 'mine', 'nats'));
    expect(findNatsServer({ ...env, NATS_BIN: explicit }, home)).toBe(explicit);
    expect(findNatsServer({ ...env, PODSTORE_NATS_BIN: explicit }, home)).toBe(explicit);
  });

  it('skips files it may not run, and finds none where there is none', async () => {
    const home = path.join(dir, 'home');
    const notRunnable = await binary(path.join(dir, 'path', 'nats-server'), 0o644);
    expect(findNatsServer({ PATH: path.dirname(notRunnable), NATS_BIN: notRunnable }, home)).toBeUndefined();
    expect(findNatsServer({ PATH: '' }, home)).toBeUndefined();
  });
});

describe("the runner's plan", () => {
  it('uses NATS_URL as given, else its own server with its data kept, else none (saying why)', async () => {
    const home = path.join(dir, 'home');
    const found = await binary(path.join(dir, 'path', 'nats-server'));
    const env = { PATH: path.dirname(found) };
    expect(planNats({ ...env, NATS_URL: 'nats://nats:4222' }, home)).toEqual({
      kind: 'given',
      url: 'nats://nats:4222',
    });
    expect(planNats({ ...env, LOCAL_NATS_DIR: path.join(dir, 'jetstream') }, home)).toEqual({
      kind: 'own',
      binary: found,
      storeDir: path.join(dir, 'jetstream'),
    });
    expect(planNats(env, home)).toMatchObject({ kind: 'own', storeDir: path.resolve('data-nats') });
    expect(planNats({ ...env, LOCAL_NATS: 'off' }, home)).toEqual({ kind: 'none', why: 'LOCAL_NATS=off' });
    const none = planNats({ PATH: '' }, home);
    expect(none.kind).toBe('none');
    expect(none.kind === 'none' && none.why).toMatch(/deploy\/provision\.sh/);
  });
});
