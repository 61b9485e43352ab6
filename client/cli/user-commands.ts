/** `users create|put|get|patch|delete`: accounts and their profiles. */
import type { CommandContext, CommandGroup, CommandSpec } from './command.ts';
import { parseJsonObject } from './json-argument.ts';

export const usersGroup: CommandGroup = { name: 'users', summary: 'accounts and their profiles' };

const NAME = { name: '<name>', meaning: "the account's user name" };

export const usersCreateCommand: CommandSpec = {
  name: 'users create',
  summary: 'sign up a new account; prints its token, once',
  description:
    "Creates an account with an optional profile; fails (412) if the name is taken. Prints the account's first token: it is shown this once, keep it (for example in PODSTORE_TOKEN). When sign-up is for the operator only, run it with the operator's token.",
  args: [
    NAME,
    { name: '<json>', meaning: 'the profile, a JSON object (optional, default {})', optional: true },
  ],
  examples: [`podstore users create alice '{"firstName":"Alice"}'`],
  async run({ client, print }, [name = '', json]) {
    const created = await client.users.put(
      name,
      json === undefined ? {} : parseJsonObject(json, 'users create'),
      {
        ifNoneMatch: '*',
      },
    );
    printCreated(print, name, created.profile, created.token);
  },
};

export const usersPutCommand: CommandSpec = {
  name: 'users put',
  summary: 'create or replace a profile',
  description:
    "Replaces the profile of an account and prints the stored profile. When the name is free and sign-up allows it, creates the account instead, and prints what users create prints: the new account's token, shown this once.",
  args: [NAME, { name: '<json>', meaning: 'the new profile, a JSON object' }],
  examples: [`podstore users put alice '{"firstName":"Alice","city":"Oslo"}'`],
  async run({ client, print }, [name = '', json = '']) {
    const result = await client.users.put(name, parseJsonObject(json, 'users put'));
    // An account made by this PUT has a token nobody will see again: print it, as users create does.
    if (result.created === true) printCreated(print, name, result.profile, result.token);
    else print(JSON.stringify(result.profile, null, 2), result.profile);
  },
};

export const usersGetCommand: CommandSpec = {
  name: 'users get',
  summary: 'show a profile',
  description: 'Prints the profile of an account (404 when it does not exist or is not yours to read).',
  args: [NAME],
  examples: ['podstore users get alice'],
  async run({ client, print }, [name = '']) {
    const { profile } = await client.users.get(name);
    print(JSON.stringify(profile, null, 2), profile);
  },
};

export const usersPatchCommand: CommandSpec = {
  name: 'users patch',
  summary: 'change a profile with a JSON merge patch',
  description:
    'Applies a JSON merge patch (RFC 7396) to the profile of an account: members given replace, members set to null go. Prints the result.',
  args: [NAME, { name: '<json>', meaning: 'the merge patch, a JSON object' }],
  examples: [`podstore users patch alice '{"city":"Bergen","nickname":null}'`],
  async run({ client, print }, [name = '', json = '']) {
    const { profile } = await client.users.patch(name, parseJsonObject(json, 'users patch'));
    print(JSON.stringify(profile, null, 2), profile);
  },
};

export const usersDeleteCommand: CommandSpec = {
  name: 'users delete',
  summary: 'delete an account and erase its pod',
  description:
    'Deletes an account and erases everything in its pod. Prints whether the erasure is done, or where to follow it while it goes on.',
  args: [NAME],
  examples: ['podstore users delete alice'],
  async run({ client, print }, [name = '']) {
    const erasure = await client.users.delete(name);
    if (erasure === null) print(`deleted ${name}`, { deleted: name, erased: true });
    else
      print(`deleted ${name}; its erasure goes on: /v1/erasures/${erasure.id}`, {
        deleted: name,
        erased: false,
        erasure,
      });
  },
};

function printCreated(
  print: CommandContext['print'],
  name: string,
  profile: Record<string, unknown>,
  token: string | undefined,
): void {
  print(`created ${name}\ntoken: ${token}`, { username: name, profile, token });
}
