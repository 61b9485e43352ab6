/**
 * The arguments of every command in the catalogue (commands.ts), declared once (valibot schemas): the
 * api's caller is type-checked against them (a renamed or mistyped argument fails `tsc`, not a
 * request), and the worker's router checks every request against them before its handler runs
 * (anything else is INVALID, naming the argument, never a crash). Arguments no command names are
 * ignored (the checked object is passed on as it came), so an older worker takes a newer api's extra
 * argument. (valibot: a check costs microseconds and loading it almost nothing, which matters to a
 * worker that restarts; TypeBox's compiler took a second of every worker start.)
 *
 * Values a service checks itself (a profile, a grant, a metadata patch, a webhook) are `unknown` here:
 * their rules, and their error messages, live with the service.
 */
import * as v from 'valibot';
import type { CommandName } from './commands.ts';
import { CommandError, ErrorCode } from './outcome.ts';

const Text = v.string();
const Optional = <T extends v.GenericSchema>(schema: T) => v.optional(schema);
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Owner = { owner: Text };
const Unknown = v.unknown();
const Args = v.object;
/** The text of the request's conditional headers, by name (protocol/preconditions.ts). */
const Conditions = v.object({
  ifMatch: Optional(Text),
  ifNoneMatch: Optional(Text),
  ifModifiedSince: Optional(Text),
  ifUnmodifiedSince: Optional(Text),
  ifRange: Optional(Text),
});
const Page = { cursor: Optional(Text), limit: Optional(v.number()) };

export const COMMAND_ARGS = {
  'auth.resolve': Args({ hash: Text }),
  'users.get': Args({ username: Text }),
  'users.put': Args({
    username: Text,
    profile: Unknown,
    kind: Optional(v.picklist(['person', 'organization'])),
    ifMatch: Optional(Text),
    ifNoneMatch: Optional(Text),
  }),
  'users.patch': Args({ username: Text, patch: Unknown, ifMatch: Optional(Text) }),
  'users.delete': Args({ username: Text, ifMatch: Optional(Text) }),
  'erasure.status': Args({ id: Text }),
  'tokens.issue': Args({
    username: Text,
    label: Optional(Text),
    expiresAt: Optional(v.nullable(Text)),
  }),
  'tokens.list': Args({ username: Text }),
  'tokens.revoke': Args({ username: Text, id: Text }),
  'quota.get': Args({ username: Text }),
  'quota.put': Args({ username: Text, quota: Unknown }),
  'quota.recount': Args({ username: Text }),
  'files.get': Args({
    ...Owner,
    path: Text,
    range: Optional(Text),
    window: Optional(v.number()),
    conditions: Optional(Conditions),
  }),
  'files.info': Args({ ...Owner, path: Text, processing: Optional(v.boolean()) }),
  'files.preview': Args({ ...Owner, path: Text, size: Count }),
  'files.put': Args({
    ...Owner,
    path: Text,
    contentType: Optional(Text),
    declaredBytes: Optional(Count),
    conditions: Optional(Conditions),
  }),
  'files.post': Args({
    ...Owner,
    dir: Optional(Text),
    slug: Optional(Text),
    contentType: Optional(Text),
    declaredBytes: Optional(Count),
    idempotencyKey: Optional(Text),
    idempotencyTtlS: Optional(v.number()),
  }),
  'files.patch': Args({
    ...Owner,
    path: Text,
    patch: Unknown,
    conditions: Optional(Conditions),
  }),
  'files.delete': Args({ ...Owner, path: Text, conditions: Optional(Conditions) }),
  'files.list': Args({ ...Owner, dir: Optional(Text), ...Page }),
  'search.query': Args({ ...Owner, q: Text, limit: Optional(v.number()) }),
  'uploads.create': Args({
    ...Owner,
    id: Text,
    path: Text,
    contentType: Optional(Text),
    length: Count,
    metadata: Optional(v.record(v.string(), v.string())),
    /** The creating request's If-Match / If-None-Match: checked at creation and again by the final write. */
    conditions: Optional(Conditions),
  }),
  'uploads.info': Args({ ...Owner, id: Text }),
  'uploads.patch': Args({
    ...Owner,
    id: Text,
    offset: Count,
    checksum: Optional(Args({ algorithm: Text, digest: Text })),
  }),
  'uploads.delete': Args({ ...Owner, id: Text }),
  'grants.get': Args({ ...Owner, grantee: Text }),
  'grants.put': Args({ ...Owner, grantee: Text, grant: Unknown }),
  'grants.delete': Args({ ...Owner, grantee: Text }),
  'grants.list': Args(Owner),
  'access.view': Args(Owner),
  'audit.list': Args({ ...Owner, ...Page }),
  'webhooks.get': Args({ ...Owner, id: Text }),
  'webhooks.put': Args({ ...Owner, id: Text, webhook: Unknown }),
  'webhooks.delete': Args({ ...Owner, id: Text }),
  'webhooks.list': Args(Owner),
  'bench.echo': Args({ payload: Unknown }),
  'bench.hash': Args({ mib: v.number() }),
  'health.storage': Args({}),
} as const satisfies Record<CommandName, v.GenericSchema>;

/** The arguments of `command`, as its caller builds them and its handler receives them. */
export type ArgsOf<C extends CommandName> = v.InferOutput<(typeof COMMAND_ARGS)[C]>;

/** `args` as `command`'s; INVALID naming the first argument that is missing or of the wrong type. */
export function checkArgs<C extends CommandName>(command: C, args: unknown): ArgsOf<C> {
  const schema = COMMAND_ARGS[command] as v.GenericSchema | undefined;
  if (schema === undefined) throw new CommandError(ErrorCode.UNKNOWN_COMMAND, `unknown command ${command}`);
  const result = v.safeParse(schema, args);
  if (result.success) return args as ArgsOf<C>;
  const [issue] = result.issues;
  const where = (issue === undefined ? undefined : v.getDotPath(issue)) ?? 'the arguments';
  const what =
    issue?.received === 'undefined'
      ? `${where} is required`
      : `${where} must be ${issue?.expected ?? 'valid'}`;
  throw new CommandError(ErrorCode.INVALID, what);
}

/** `args[name]` as a string; INVALID (`<name> is required`) when it is not one. */
export function textArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new CommandError(ErrorCode.INVALID, `${name} is required`);
  return value;
}

/**
 * The pod a command acts on, from its arguments: its `owner`, or the account's `username` (an account
 * is its pod's owner). The broker sends a pod's commands to one worker while it has room (frames.ts).
 */
export function podOf(args: object): string | undefined {
  const { owner, username } = args as { owner?: unknown; username?: unknown };
  if (typeof owner === 'string' && owner !== '') return owner;
  if (typeof username === 'string' && username !== '') return username;
  return undefined;
}
