/**
 * `small-files`: 4 KiB files. Each user's pod is seeded with 16 files under `small/`; then reads
 * (60 %), overwrites (30 %) and folder listings (10 %), each connection in its own user's pod.
 */
import { randomBytes } from 'node:crypto';
import { inBatches, type LoadUser, removeUsers, signUpMany } from '../accounts.ts';
import type { Op } from '../runner.ts';
import { drain, pickWeighted, randomInt, type Scenario, sdkOp } from './common.ts';

export const SMALL_FILE = randomBytes(4096);
const FILES = 16;
const MIX = [
  ['get', 60],
  ['put', 30],
  ['list', 10],
] as const;

const fileName = (k: number) => `small/f-${k}.bin`;

export const smallFilesScenario: Scenario = async (ctx) => {
  const users = await signUpMany(ctx.url, ctx.prefix, ctx.users, ctx.operatorToken);
  await inBatches(users.length * FILES, 16, async (i) => {
    const user = users[i % users.length] as LoadUser;
    await user.client.files.put(user.name, fileName(Math.floor(i / users.length)), SMALL_FILE);
  });
  return {
    notices: [],
    next(conn): Op {
      const user = users[conn % users.length] as LoadUser;
      const path = fileName(randomInt(FILES));
      switch (pickWeighted(MIX, Math.random())) {
        case 'get':
          return {
            name: 'get',
            run: async () => {
              const download = await user.client.files.get(user.name, path);
              return { status: download.status, bytes: await drain(download.body) };
            },
          };
        case 'put':
          return {
            name: 'put',
            run: async () => {
              const info = await user.client.files.put(user.name, path, SMALL_FILE);
              return { status: info.created ? 201 : 200, bytes: SMALL_FILE.length };
            },
          };
        default:
          return sdkOp('list', 200, () => user.client.files.list(user.name, 'small'));
      }
    },
    teardown: () => removeUsers(users),
  };
};
