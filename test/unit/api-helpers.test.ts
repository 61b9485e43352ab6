import { describe, expect, it } from 'vitest';
import { BrokerCallError } from '../../api/broker-client.ts';
import { noneMatchHits, parseEtagHeader, quoteEtag } from '../../api/etag.ts';
import { fromBrokerError, fromOutcomeError } from '../../api/problem.ts';
import { isValidUsername } from '../../protocol/names.ts';
import { ConfigError, integer, loadConfig, oneOf, text } from '../../runtime/env.ts';

describe('usernames', () => {
  it.each(['ab', 'myusername', 'a-b', 'x1', 'a'.repeat(63)])('accepts %s', (name) =>
    expect(isValidUsername(name)).toBe(true),
  );
  it.each(['a', 'Bad..Name', 'UPPER', '-ab', 'ab-', 'a_b', 'a.b', 'a'.repeat(64), '', 'é-a'])(
    'refuses %s',
    (name) => expect(isValidUsername(name)).toBe(false),
  );
});

describe('entity tags', () => {
  it('quotes and unquotes', () => {
    expect(quoteEtag('abc')).toBe('"abc"');
    expect(parseEtagHeader('"abc"')).toBe('abc');
    expect(parseEtagHeader('W/"abc"')).toBe('abc');
    expect(parseEtagHeader('*')).toBe('*');
    expect(parseEtagHeader(undefined)).toBeUndefined();
  });
  it('matches If-None-Match lists', () => {
    expect(noneMatchHits('"x", "abc"', 'abc')).toBe(true);
    expect(noneMatchHits('"x"', 'abc')).toBe(false);
    expect(noneMatchHits('*', 'abc')).toBe(true);
  });
});

describe('error mapping', () => {
  it('maps worker codes to statuses', () => {
    expect(fromOutcomeError({ code: 'not_found', detail: 'x' }).status).toBe(404);
    expect(fromOutcomeError({ code: 'precondition_failed', detail: 'x' }).status).toBe(412);
    const outage = fromOutcomeError({ code: 'storage_unavailable', detail: 'x' });
    expect([outage.status, outage.retryAfter]).toEqual([503, 1]);
  });
  it('maps broker errors: overload and outages 503 with Retry-After, lateness 504', () => {
    expect(fromBrokerError(new BrokerCallError('overloaded'))).toMatchObject({ status: 503, retryAfter: 1 });
    expect(fromBrokerError(new BrokerCallError('unavailable'))).toMatchObject({ status: 503 });
    expect(fromBrokerError(new BrokerCallError('timeout')).status).toBe(504);
  });
});

describe('configuration', () => {
  const spec = {
    port: integer('PORT', 8080, 'port', 0, 65535),
    name: text('NAME', 'x', 'name'),
    mode: oneOf('MODE', 'open', 'mode', ['open', 'admin'] as const),
  };
  it('uses defaults and parses overrides', () => {
    expect(loadConfig(spec, {})).toEqual({ port: 8080, name: 'x', mode: 'open' });
    expect(loadConfig(spec, { PORT: '9', MODE: 'admin' })).toEqual({ port: 9, name: 'x', mode: 'admin' });
  });
  it('reports every bad variable at once', () => {
    expect(() => loadConfig(spec, { PORT: 'http', MODE: 'closed' })).toThrow(ConfigError);
    expect(() => loadConfig(spec, { PORT: 'http', MODE: 'closed' })).toThrow(/PORT.*MODE/);
  });
});
