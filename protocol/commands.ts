/**
 * The command catalogue: every command a worker serves, and the service it belongs to. The api calls
 * commands by these names and the worker registers its handlers by them, so a misspelt or unknown
 * command, or one called on the wrong service, fails the type check instead of a request. A worker
 * announces the services it serves (READY); the broker routes a request to a worker of its service.
 *
 * Adding a command: a line here, its arguments in `command-args.ts`, its handler in the service's
 * `*-commands.ts`, and the route that calls it (CONTRIBUTING.md).
 */

export const COMMANDS = {
  'auth.resolve': 'users',
  'users.get': 'users',
  'users.put': 'users',
  'users.patch': 'users',
  'users.delete': 'users',
  'erasure.status': 'users',
  'tokens.issue': 'users',
  'tokens.list': 'users',
  'tokens.revoke': 'users',
  'quota.get': 'users',
  'quota.put': 'users',
  'quota.recount': 'users',
  'files.get': 'files',
  'files.info': 'files',
  'files.put': 'files',
  'files.post': 'files',
  'files.patch': 'files',
  'files.delete': 'files',
  'files.list': 'files',
  'files.preview': 'files',
  'search.query': 'files',
  'uploads.create': 'files',
  'uploads.info': 'files',
  'uploads.patch': 'files',
  'uploads.delete': 'files',
  'grants.get': 'access',
  'grants.put': 'access',
  'grants.delete': 'access',
  'grants.list': 'access',
  'access.view': 'access',
  'audit.list': 'access',
  'webhooks.get': 'webhooks',
  'webhooks.put': 'webhooks',
  'webhooks.delete': 'webhooks',
  'webhooks.list': 'webhooks',
  'bench.echo': 'bench',
  'bench.hash': 'bench',
  'health.storage': 'health',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type ServiceName = (typeof COMMANDS)[CommandName];

/** The services, each named once. */
export const SERVICES = {
  users: 'users',
  files: 'files',
  access: 'access',
  webhooks: 'webhooks',
  bench: 'bench',
  health: 'health',
} as const satisfies Record<ServiceName, ServiceName>;

export const serviceOf = (command: CommandName): ServiceName => COMMANDS[command];

/** The commands of one service (what a worker that serves it must register). */
export const commandsOf = (service: ServiceName): CommandName[] =>
  (Object.keys(COMMANDS) as CommandName[]).filter((command) => COMMANDS[command] === service);

/**
 * Commands that never change a pod's files (their records and bytes). The broker may send them to any
 * worker without telling the pod's home that what it remembers of the pod's files may be stale
 * (broker/pod-placements.ts, decision 0008); every other command counts as one that may change them,
 * so a new command is safe until it is listed here. A worker refuses a command outside this list whose
 * request does not name, as its pod, the pod its arguments name.
 */
export const LEAVES_FILES_UNCHANGED: ReadonlySet<string> = new Set<CommandName>([
  'auth.resolve',
  'users.get',
  'erasure.status',
  'tokens.list',
  'quota.get',
  'files.get',
  'files.info',
  'files.list',
  'files.preview',
  'search.query',
  'uploads.info',
  'grants.get',
  'grants.list',
  'access.view',
  'audit.list',
  'webhooks.get',
  'webhooks.list',
  'bench.echo',
  'bench.hash',
  'health.storage',
]);

/**
 * Reads whose whole answer an api may keep and answer again from its memory while it holds the broker's
 * read lease of the pod (broker/read-leases.ts, decision 0009). Only ever asked for the pod's owner: a
 * grantee's reads depend on grants that may run out by time, and each lands in the owner's audit log.
 */
export const LEASED_READS: ReadonlySet<string> = new Set<CommandName>(['files.get']);
