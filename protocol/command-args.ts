/**
 * The arguments of every command in the catalogue (commands.ts), declared once, as JSON Schema through
 * TypeBox: the api's caller is type-checked against them (a renamed or mistyped argument fails `tsc`,
 * not a request), and the worker's router checks every request against them before its handler runs
 * (anything else is INVALID, naming the argument, never a crash). Arguments no command names are
 * ignored, so an older worker takes a newer api's extra argument.
 *
 * Values a service checks itself (a profile, a grant, a metadata patch, a webhook) are `Unknown` here:
 * their rules, and their error messages, live with the service.
 */
import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { CommandName } from './commands.ts';
import { CommandError, ErrorCode } from './outcome.ts';

const Text = Type.String();
const Optional = <T extends TSchema>(schema: T) => Type.Optional(schema);
const Count = Type.Integer({ minimum: 0 });
const Owner = { owner: Text };
/** The text of the request's conditional headers, by name (protocol/preconditions.ts). */
const Conditions = Type.Object({
  ifMatch: Optional(Text),
  ifNoneMatch: Optional(Text),
  ifModifiedSince: Optional(Text),
  ifUnmodifiedSince: Optional(Text),
  ifRange: Optional(Text),
});
const Page = { cursor: Optional(Text), limit: Optional(Type.Number()) };

export const COMMAND_ARGS = {
  'auth.resolve': Type.Object({ hash: Text }),
  'users.get': Type.Object({ username: Text }),
  'users.put': Type.Object({
    username: Text,
    profile: Type.Unknown(),
    kind: Optional(Type.Union([Type.Literal('person'), Type.Literal('organization')])),
    ifMatch: Optional(Text),
    ifNoneMatch: Optional(Text),
  }),
  'users.patch': Type.Object({ username: Text, patch: Type.Unknown(), ifMatch: Optional(Text) }),
  'users.delete': Type.Object({ username: Text, ifMatch: Optional(Text) }),
  'erasure.status': Type.Object({ id: Text }),
  'tokens.issue': Type.Object({
    username: Text,
    label: Optional(Text),
    expiresAt: Optional(Type.Union([Text, Type.Null()])),
  }),
  'tokens.list': Type.Object({ username: Text }),
  'tokens.revoke': Type.Object({ username: Text, id: Text }),
  'quota.get': Type.Object({ username: Text }),
  'quota.put': Type.Object({ username: Text, quota: Type.Unknown() }),
  'quota.recount': Type.Object({ username: Text }),
  'files.get': Type.Object({
    ...Owner,
    path: Text,
    range: Optional(Text),
    window: Optional(Type.Number()),
    conditions: Optional(Conditions),
  }),
  'files.info': Type.Object({ ...Owner, path: Text }),
  'files.put': Type.Object({
    ...Owner,
    path: Text,
    contentType: Optional(Text),
    declaredBytes: Optional(Count),
    conditions: Optional(Conditions),
  }),
  'files.post': Type.Object({
    ...Owner,
    dir: Optional(Text),
    slug: Optional(Text),
    contentType: Optional(Text),
    declaredBytes: Optional(Count),
    idempotencyKey: Optional(Text),
    idempotencyTtlS: Optional(Type.Number()),
  }),
  'files.patch': Type.Object({
    ...Owner,
    path: Text,
    patch: Type.Unknown(),
    conditions: Optional(Conditions),
  }),
  'files.delete': Type.Object({ ...Owner, path: Text, conditions: Optional(Conditions) }),
  'files.list': Type.Object({ ...Owner, dir: Optional(Text), ...Page }),
  'uploads.create': Type.Object({
    ...Owner,
    id: Text,
    path: Text,
    contentType: Optional(Text),
    length: Count,
    metadata: Optional(Type.Record(Type.String(), Type.String())),
  }),
  'uploads.info': Type.Object({ ...Owner, id: Text }),
  'uploads.patch': Type.Object({
    ...Owner,
    id: Text,
    offset: Count,
    checksum: Optional(Type.Object({ algorithm: Text, digest: Text })),
  }),
  'uploads.delete': Type.Object({ ...Owner, id: Text }),
  'grants.get': Type.Object({ ...Owner, grantee: Text }),
  'grants.put': Type.Object({ ...Owner, grantee: Text, grant: Type.Unknown() }),
  'grants.delete': Type.Object({ ...Owner, grantee: Text }),
  'grants.list': Type.Object(Owner),
  'access.view': Type.Object(Owner),
  'audit.list': Type.Object({ ...Owner, ...Page }),
  'webhooks.get': Type.Object({ ...Owner, id: Text }),
  'webhooks.put': Type.Object({ ...Owner, id: Text, webhook: Type.Unknown() }),
  'webhooks.delete': Type.Object({ ...Owner, id: Text }),
  'webhooks.list': Type.Object(Owner),
  'bench.echo': Type.Object({ payload: Type.Unknown() }),
  'bench.hash': Type.Object({ mib: Type.Number() }),
  'health.storage': Type.Object({}),
} as const satisfies Record<CommandName, TSchema>;

/** The arguments of `command`, as its caller builds them and its handler receives them. */
export type ArgsOf<C extends CommandName> = Static<(typeof COMMAND_ARGS)[C]>;

const checkers = new Map(
  (Object.keys(COMMAND_ARGS) as CommandName[]).map((command) => [command, Compile(COMMAND_ARGS[command])]),
);

/** `args` as `command`'s; INVALID naming the first argument that is missing or of the wrong type. */
export function checkArgs<C extends CommandName>(command: C, args: unknown): ArgsOf<C> {
  const checker = checkers.get(command);
  if (checker === undefined) throw new CommandError(ErrorCode.UNKNOWN_COMMAND, `unknown command ${command}`);
  if (checker.Check(args)) return args as ArgsOf<C>;
  const [first] = checker.Errors(args);
  const where = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : 'the arguments';
  const what =
    first?.keyword === 'required'
      ? `${describeRequired(first.params)} is required`
      : `${where} ${first?.message ?? 'are invalid'}`;
  throw new CommandError(ErrorCode.INVALID, what);
}

function describeRequired(params: unknown): string {
  const missing = (params as { requiredProperties?: unknown[] } | undefined)?.requiredProperties;
  return Array.isArray(missing) && missing.length > 0 ? String(missing[0]) : 'an argument';
}

/** `args[name]` as a string; INVALID (`<name> is required`) when it is not one. */
export function textArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new CommandError(ErrorCode.INVALID, `${name} is required`);
  return value;
}
