/**
 * `large-files`: concurrent large transfers (100 MiB by default). Each connection uploads its own file,
 * then downloads it, and so on. Bodies are generated as they are sent and counted as they are read:
 * the load process never holds a file.
 */
import { type LoadUser, removeUsers, signUpMany } from '../accounts.ts';
import type { Op } from '../runner.ts';
import { drain, generatedBody, type Scenario } from './common.ts';

export class ShortBodyError extends Error {
  override name = 'ShortBodyError';
}

export const largeFilesScenario: Scenario = async (ctx) => {
  const bytes = ctx.mib * 2 ** 20;
  const users = await signUpMany(ctx.url, ctx.prefix, ctx.users, ctx.operatorToken);
  const uploaded = new Set<number>();
  return {
    notices: [],
    next(conn): Op {
      const user = users[conn % users.length] as LoadUser;
      const path = `large/c${conn}.bin`;
      if (!uploaded.has(conn)) {
        return {
          name: 'upload',
          run: async () => {
            const info = await user.client.files.put(user.name, path, generatedBody(bytes), { size: bytes });
            uploaded.add(conn);
            return { status: info.created ? 201 : 200, bytes };
          },
        };
      }
      uploaded.delete(conn);
      return {
        name: 'download',
        run: async () => {
          const download = await user.client.files.get(user.name, path);
          const read = await drain(download.body);
          if (read !== bytes) throw new ShortBodyError(`read ${read} of ${bytes} bytes`);
          return { status: download.status, bytes: read };
        },
      };
    },
    details: () => ({ fileMiB: ctx.mib }),
    teardown: () => removeUsers(users),
  };
};
