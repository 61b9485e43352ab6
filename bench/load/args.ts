/**
 * `npm run load` arguments: parsed and checked here, without side effects, so the rules are unit-tested.
 * A run is always bounded (--duration, --requests or both), and it goes to loopback unless the target
 * is given explicitly with --url: a PODSTORE_URL from the environment must be loopback.
 */
import { parseArgs } from 'node:util';

export const SCENARIOS = ['users', 'small-files', 'large-files', 'mixed', 'processing', 'hostile'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const LIMITS = {
  connections: { min: 1, max: 1024 },
  duration: { min: 0.1, max: 3600 },
  requests: { min: 1, max: 100_000_000 },
  users: { min: 1, max: 10_000 },
  largeMib: { min: 1, max: 4096 },
  hashMib: { min: 1, max: 64 },
  hostileStalls: { min: 0, max: 1000 },
  hostileFlood: { min: 0, max: 256 },
} as const;
/** Per scenario: the default of --mib (large-files: MiB per file; processing: MiB hashed per request). */
export const DEFAULT_MIB: Partial<Record<ScenarioName, number>> = { 'large-files': 100, processing: 8 };

export interface LoadArgs {
  url: string;
  scenario: ScenarioName;
  connections: number;
  /** Seconds; at least one of duration and requests is set. */
  duration?: number;
  requests?: number;
  /** Sent on sign-up only: the operator's token, needed when sign-up is admin-only. */
  token?: string;
  jsonOut?: string;
  progress: boolean;
  /** Users signed up (and one pod each); default: one per connection. */
  users: number;
  /** large-files: MiB per file; processing: MiB hashed per request. */
  mib: number;
  /** hostile: uploads the hostile caller keeps open and stalled (default 150). */
  hostileStalls?: number;
  /** hostile: the hostile caller's flooding connections (default 16). */
  hostileFlood?: number;
}

export class ArgsError extends Error {
  override name = 'ArgsError';
}

export const USAGE = `npm run load -- --scenario <name> (--duration S | --requests N) [options]

  --url URL          podstore api (default ${DEFAULT_URL}, or PODSTORE_URL when it is loopback)
  --scenario NAME    ${SCENARIOS.join(', ')}
  --connections C    concurrent requests (default 16)
  --duration S       stop starting requests after S seconds
  --requests N       stop after N requests
  --users N          users to sign up (default: one per connection)
  --mib N            large-files: MiB per file (default 100); processing: MiB hashed per request (default 8)
  --hostile-stalls N hostile: stalled uploads the hostile caller keeps open (default 150)
  --hostile-flood C  hostile: connections of back-to-back requests of the hostile caller (default 16)
  --token T          operator token sent with sign-ups (when sign-up is admin-only)
  --json-out FILE    where the JSON result goes (default bench/results/load-<scenario>-<time>.json)
  --progress         live progress line on stderr even when it is not a terminal`;

const isLoopbackHost = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
};

/** True when `url` points at this machine's loopback interface. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

function numberIn(
  option: string,
  raw: string | undefined,
  limits: { min: number; max: number },
  whole = true,
) {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (whole && !Number.isInteger(n)) || n < limits.min || n > limits.max) {
    throw new ArgsError(
      `--${option} takes ${whole ? 'a whole number' : 'a number'} from ${limits.min} to ${limits.max}`,
    );
  }
  return n;
}

function checkUrl(raw: string, explicit: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ArgsError(`not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ArgsError('the URL must be http or https');
  if (!explicit && !isLoopbackHost(url.hostname)) {
    throw new ArgsError(
      `PODSTORE_URL points at ${url.host}, which is not loopback: to load another machine, name it with --url`,
    );
  }
  return raw.replace(/\/+$/, '');
}

/** Parses argv (without node and the script); throws ArgsError with a message for the user. */
export function parseLoadArgs(argv: string[], env: NodeJS.ProcessEnv = {}): LoadArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        scenario: { type: 'string' },
        connections: { type: 'string' },
        duration: { type: 'string' },
        requests: { type: 'string' },
        users: { type: 'string' },
        mib: { type: 'string' },
        'hostile-stalls': { type: 'string' },
        'hostile-flood': { type: 'string' },
        token: { type: 'string' },
        'json-out': { type: 'string' },
        progress: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new ArgsError((err as Error).message);
  }
  if (values.help) return 'help';
  const str = (name: string) => values[name] as string | undefined;
  const scenario = str('scenario');
  if (scenario === undefined) throw new ArgsError(`--scenario is required: ${SCENARIOS.join(', ')}`);
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new ArgsError(`unknown scenario ${scenario}: one of ${SCENARIOS.join(', ')}`);
  }
  const name = scenario as ScenarioName;
  const duration = numberIn('duration', str('duration'), LIMITS.duration, false);
  const requests = numberIn('requests', str('requests'), LIMITS.requests);
  if (duration === undefined && requests === undefined) {
    throw new ArgsError('a run must be bounded: give --duration S, --requests N, or both');
  }
  const connections = numberIn('connections', str('connections'), LIMITS.connections) ?? 16;
  const mibLimits = name === 'processing' ? LIMITS.hashMib : LIMITS.largeMib;
  const mib = numberIn('mib', str('mib'), mibLimits) ?? DEFAULT_MIB[name] ?? 1;
  const urlOption = str('url');
  const url = checkUrl(urlOption ?? env.PODSTORE_URL ?? DEFAULT_URL, urlOption !== undefined);
  const token = str('token');
  const jsonOut = str('json-out');
  const hostileStalls = numberIn('hostile-stalls', str('hostile-stalls'), LIMITS.hostileStalls);
  const hostileFlood = numberIn('hostile-flood', str('hostile-flood'), LIMITS.hostileFlood);
  return {
    url,
    scenario: name,
    connections,
    ...(duration === undefined ? {} : { duration }),
    ...(requests === undefined ? {} : { requests }),
    ...(token === undefined || token === '' ? {} : { token }),
    ...(jsonOut === undefined ? {} : { jsonOut }),
    progress: values.progress === true,
    users: numberIn('users', str('users'), LIMITS.users) ?? connections,
    mib,
    ...(hostileStalls === undefined ? {} : { hostileStalls }),
    ...(hostileFlood === undefined ? {} : { hostileFlood }),
  };
}
