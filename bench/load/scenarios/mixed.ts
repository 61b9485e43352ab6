/**
 * `mixed`: a day in the life of a pod store. Owners (patients) read and write their documents and
 * profile, list folders, tag files; third parties (providers) holding an append grant on an owner's
 * `/inbox/` add results there, which owners later delete. The ratio is read-heavy:
 * file GET 35 %, profile GET 15 %, PUT 15 %, list 10 %, third-party append 12 %, metadata PATCH 5 %,
 * profile PATCH 5 %, delete of an appended file 3 %.
 */
import { inBatches, type LoadUser, removeUsers, signUpMany } from '../accounts.ts';
import type { Op } from '../runner.ts';
import { drain, pickWeighted, randomInt, type Scenario, sdkOp } from './common.ts';
import { grantAppend } from './grants.ts';
import { SMALL_FILE } from './small-files.ts';

const DOCS = 8;
const MIX = [
  ['get', 35],
  ['profile', 15],
  ['put', 15],
  ['list', 10],
  ['append', 12],
  ['tag', 5],
  ['patch-profile', 5],
  ['delete', 3],
] as const;

const doc = (k: number) => `docs/d-${k}.bin`;

export const mixedScenario: Scenario = async (ctx) => {
  const owners = await signUpMany(ctx.url, ctx.prefix, Math.max(2, ctx.users), ctx.operatorToken);
  const providers = await signUpMany(
    ctx.url,
    `${ctx.prefix}-p`,
    Math.max(1, Math.ceil(owners.length / 4)),
    ctx.operatorToken,
  );
  await inBatches(owners.length * DOCS, 16, async (i) => {
    const owner = owners[i % owners.length] as LoadUser;
    await owner.client.files.put(owner.name, doc(Math.floor(i / owners.length)), SMALL_FILE);
  });
  const providerOf = (i: number) => providers[i % providers.length] as LoadUser;
  const outcomes = await Promise.all(
    owners.map((owner, i) => grantAppend(ctx.url, owner, providerOf(i).name)),
  );
  const grants = outcomes.every((o) => o === 'granted');
  const notices = grants
    ? []
    : [
        'grants are not available on this server (PUT /v1/users/{owner}/grants/{grantee}: no route): third-party appends skipped',
      ];
  /** Files providers appended to each owner's inbox, for owners to delete. */
  const inbox = owners.map(() => [] as string[]);
  let appended = 0;

  const ownerOp = (i: number, kind: string, seq: number): Op => {
    const owner = owners[i] as LoadUser;
    switch (kind) {
      case 'profile':
        return sdkOp(kind, 200, () => owner.client.users.get(owner.name));
      case 'patch-profile':
        return sdkOp(kind, 200, () => owner.client.users.patch(owner.name, { lastSeen: seq }));
      case 'put':
        return {
          name: kind,
          run: async () => {
            const info = await owner.client.files.put(owner.name, doc(randomInt(DOCS)), SMALL_FILE);
            return { status: info.created ? 201 : 200, bytes: SMALL_FILE.length };
          },
        };
      case 'list':
        return sdkOp(kind, 200, () => owner.client.files.list(owner.name, 'docs'));
      case 'tag':
        return sdkOp(kind, 200, () =>
          owner.client.files.patch(owner.name, doc(randomInt(DOCS)), { tags: ['load', `t${seq % 7}`] }),
        );
      case 'delete': {
        const path = inbox[i]?.shift();
        if (path !== undefined) {
          return sdkOp(kind, 204, () => owner.client.files.delete(owner.name, path));
        }
        return ownerOp(i, 'get', seq);
      }
      default:
        return {
          name: 'get',
          run: async () => {
            const download = await owner.client.files.get(owner.name, doc(randomInt(DOCS)));
            return { status: download.status, bytes: await drain(download.body) };
          },
        };
    }
  };

  return {
    notices,
    next(conn, seq): Op {
      const i = (conn + seq) % owners.length;
      const kind = pickWeighted(MIX, Math.random());
      if (kind !== 'append') return ownerOp(i, kind, seq);
      if (!grants) return ownerOp(i, 'get', seq);
      const owner = owners[i] as LoadUser;
      const provider = providerOf(i);
      return {
        name: 'append',
        run: async () => {
          const info = await provider.client.files.create(owner.name, 'inbox', SMALL_FILE, {
            slug: `result-${appended++}.bin`,
          });
          inbox[i]?.push(info.path.replace(/^\/+/, ''));
          return { status: 201, bytes: SMALL_FILE.length };
        },
      };
    },
    details: () => ({
      grants: grants ? 'applied' : 'skipped',
      owners: owners.length,
      providers: providers.length,
    }),
    teardown: () => removeUsers([...owners, ...providers]),
  };
};
