/**
 * Where the CLI sends its requests and with which token: a flag wins over the environment variable,
 * which wins over the default. The token is never printed and never put in a URL.
 */
import { UsageError } from './usage-error.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** The environment variables the CLI reads, with their defaults (the help and docs/cli.md list them). */
export const CLI_ENVIRONMENT = [
  ['PODSTORE_URL', DEFAULT_URL, 'the api to talk to; --url wins over it'],
  ['PODSTORE_TOKEN', 'none', 'the bearer token sent with every request; --token wins over it'],
] as const;

export interface Settings {
  url: string;
  token: string | undefined;
  /** Set when the token would cross a network in clear text (http to a host that is not loopback). */
  warning: string | undefined;
}

export function resolveSettings(
  flags: { url?: string | undefined; token?: string | undefined },
  env: Record<string, string | undefined>,
): Settings {
  const fromFlag = flags.url !== undefined;
  const text = flags.url ?? nonEmpty(env.PODSTORE_URL) ?? DEFAULT_URL;
  const source = fromFlag ? '--url' : 'PODSTORE_URL';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The value is not echoed: a token pasted into the wrong place must not end up on the screen.
    throw new UsageError(`${source} is not a URL (expected http://host:port or https://host)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${source} must be an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '')
    throw new UsageError(
      `${source} must not carry a user name or password: give the token with PODSTORE_TOKEN or --token`,
    );
  if (url.search !== '' || url.hash !== '')
    throw new UsageError(`${source} must not carry a query or fragment`);
  const token = flags.token ?? nonEmpty(env.PODSTORE_TOKEN);
  // Checked here, and not echoed: fetch would reject it with an error message that quotes the header.
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token))
    throw new UsageError('the token has characters a token cannot have (check --token or PODSTORE_TOKEN)');
  const base = url.href.replace(/\/+$/, '');
  const warning =
    token !== undefined && url.protocol === 'http:' && !isLoopback(url.hostname)
      ? `warning: the token goes to ${url.host} over plain http, readable on the way; use https`
      : undefined;
  return { url: base, token, warning };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
