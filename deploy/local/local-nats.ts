/**
 * NATS for `npm start`. Events, webhooks and file processing (previews and search: their jobs travel on
 * JetStream) need a NATS server; without one they answer 503. So unless NATS_URL names a server, the
 * runner starts a nats-server of its own, with JetStream, on a free loopback port, its data kept in
 * LOCAL_NATS_DIR (default `./data-nats`, beside the pods' `./data`) so that events and jobs not yet done
 * outlive a restart, and stops it last. It uses a binary it finds without building anything (a build
 * takes minutes; `deploy/provision.sh` does it once); with none, it says how to get one and runs
 * without NATS, as before. LOCAL_NATS=off runs without NATS even when a binary is there.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** The nats-server version deploy/provision.sh builds (its NATS_VERSION). */
export const PINNED_NATS_VERSION = 'v2.12.3';

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** deploy/provision.sh's cache of binaries: ${PODSTORE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/podstore}/bin. */
export function provisionCacheBin(env: NodeJS.ProcessEnv, home = homedir()): string {
  const cache =
    env.PODSTORE_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'podstore');
  return path.join(cache, 'bin');
}

/**
 * A nats-server binary, in the order deploy/provision.sh resolves one, without building: NATS_BIN (as the
 * tests export it) or PODSTORE_NATS_BIN; the provision cache (the pinned version first, then any other);
 * `nats-server` on PATH. Undefined when there is none.
 */
export function findNatsServer(env: NodeJS.ProcessEnv, home = homedir()): string | undefined {
  for (const explicit of [env.NATS_BIN, env.PODSTORE_NATS_BIN]) {
    if (explicit && executable(explicit)) return path.resolve(explicit);
  }
  const bin = provisionCacheBin(env, home);
  const pinned = path.join(bin, `nats-server-${PINNED_NATS_VERSION}`);
  if (executable(pinned)) return pinned;
  let cached: string[] = [];
  try {
    cached = readdirSync(bin)
      .filter((name) => name.startsWith('nats-server-'))
      .sort()
      .reverse();
  } catch {
    // no cache yet
  }
  for (const name of cached) if (executable(path.join(bin, name))) return path.join(bin, name);
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && executable(path.join(dir, 'nats-server'))) return path.join(dir, 'nats-server');
  }
  return undefined;
}

/** What the runner does about NATS: use the one named, start its own, or run without. */
export type NatsPlan =
  | { kind: 'given'; url: string }
  | { kind: 'own'; binary: string; storeDir: string }
  | { kind: 'none'; why: string };

export function planNats(env: NodeJS.ProcessEnv, home = homedir()): NatsPlan {
  if (env.NATS_URL) return { kind: 'given', url: env.NATS_URL };
  if (env.LOCAL_NATS === 'off') return { kind: 'none', why: 'LOCAL_NATS=off' };
  const binary = findNatsServer(env, home);
  if (binary === undefined) {
    return {
      kind: 'none',
      why:
        'no nats-server found (NATS_BIN, the cache of deploy/provision.sh, PATH): run deploy/provision.sh ' +
        'once, install nats-server, or set NATS_URL',
    };
  }
  return { kind: 'own', binary, storeDir: path.resolve(env.LOCAL_NATS_DIR || './data-nats') };
}
