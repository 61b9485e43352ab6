/**
 * `users`: profile CRUD. Each connection works on its own user: reads (50 %), merge patches (20 %),
 * replaces (15 %), and now and then signs a throwaway user up and deletes it on its next turn (15 %).
 */
import { type LoadUser, removeUsers, signUp, signUpMany } from '../accounts.ts';
import type { Op } from '../runner.ts';
import { pickWeighted, type Scenario, sdkOp } from './common.ts';

const MIX = [
  ['get', 50],
  ['patch', 20],
  ['put', 15],
  ['create', 15],
] as const;

export const usersScenario: Scenario = async (ctx) => {
  const users = await signUpMany(ctx.url, ctx.prefix, ctx.users, ctx.operatorToken);
  const throwaways = new Map<number, LoadUser>();
  const leftovers: LoadUser[] = [];
  let created = 0;
  return {
    notices: [],
    next(conn, seq): Op {
      const pending = throwaways.get(conn);
      if (pending !== undefined) {
        throwaways.delete(conn);
        return sdkOp('delete', 204, () => pending.client.users.delete(pending.name));
      }
      const user = users[conn % users.length] as LoadUser;
      switch (pickWeighted(MIX, Math.random())) {
        case 'get':
          return sdkOp('get', 200, () => user.client.users.get(user.name));
        case 'patch':
          return sdkOp('patch', 200, () => user.client.users.patch(user.name, { visits: seq }));
        case 'put':
          return {
            name: 'put',
            run: async () => {
              const result = await user.client.users.put(user.name, { firstName: 'Load', city: `c${seq}` });
              return { status: result.created ? 201 : 200 };
            },
          };
        default:
          return {
            name: 'create',
            run: async () => {
              const name = `${ctx.prefix}-x${created++}`;
              const fresh = await signUp(ctx.url, name, { firstName: 'Brief' }, ctx.operatorToken);
              throwaways.set(conn, fresh);
              return { status: 201 };
            },
          };
      }
    },
    async teardown() {
      leftovers.push(...throwaways.values());
      await removeUsers([...users, ...leftovers]);
    },
  };
};
