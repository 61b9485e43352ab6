/** `npm run load` arguments: bounded runs only, loopback unless the target is named with --url. */
import { describe, expect, it } from 'vitest';
import { ArgsError, DEFAULT_URL, isLoopbackUrl, parseLoadArgs } from '../../bench/load/args.ts';

const parse = (line: string, env: NodeJS.ProcessEnv = {}) =>
  parseLoadArgs(line.split(' ').filter(Boolean), env);

describe('parseLoadArgs', () => {
  it('takes a scenario and a bound, with loopback and defaults', () => {
    expect(parse('--scenario users --duration 5')).toEqual({
      url: DEFAULT_URL,
      scenario: 'users',
      connections: 16,
      duration: 5,
      progress: false,
      users: 16,
      mib: 1,
    });
  });

  it('reads every option', () => {
    const args = parse(
      '--url http://127.0.0.1:9000/ --scenario large-files --connections 4 --duration 2.5 --requests 100 ' +
        '--users 2 --mib 10 --token pst_x --json-out /tmp/r.json --progress',
    );
    expect(args).toEqual({
      url: 'http://127.0.0.1:9000',
      scenario: 'large-files',
      connections: 4,
      duration: 2.5,
      requests: 100,
      users: 2,
      mib: 10,
      token: 'pst_x',
      jsonOut: '/tmp/r.json',
      progress: true,
    });
  });

  it('gives --mib a default per scenario', () => {
    expect(parse('--scenario large-files --requests 1')).toMatchObject({ mib: 100 });
    expect(parse('--scenario processing --requests 1')).toMatchObject({ mib: 8 });
  });

  it('refuses to run unbounded', () => {
    expect(() => parse('--scenario users')).toThrow(/bounded/);
    expect(() => parse('--scenario users --connections 8')).toThrow(ArgsError);
  });

  it('accepts a request budget alone', () => {
    expect(parse('--scenario mixed --requests 500')).toMatchObject({ requests: 500 });
  });

  it.each([
    ['--connections 0', /--connections/],
    ['--connections 1025', /--connections/],
    ['--connections 2.5', /--connections/],
    ['--duration 0', /--duration/],
    ['--duration 3601', /--duration/],
    ['--duration abc', /--duration/],
    ['--requests 0', /--requests/],
    ['--requests 1.5', /--requests/],
    ['--users 0', /--users/],
  ])('bounds %s', (option, message) => {
    expect(() => parse(`--scenario users --duration 1 ${option}`)).toThrow(message);
  });

  it('bounds --mib per scenario: at most 64 MiB hashed per request', () => {
    expect(() => parse('--scenario processing --duration 1 --mib 65')).toThrow(/--mib .* 1 to 64/);
    expect(parse('--scenario large-files --duration 1 --mib 1024')).toMatchObject({ mib: 1024 });
  });

  it('refuses unknown scenarios and options', () => {
    expect(() => parse('--scenario nope --duration 1')).toThrow(/unknown scenario/);
    expect(() => parse('--duration 1')).toThrow(/--scenario is required/);
    expect(() => parse('--scenario users --duration 1 --bogus')).toThrow(ArgsError);
  });

  it('goes to another machine only when --url names it', () => {
    expect(parse('--scenario users --duration 1 --url https://pods.example.com')).toMatchObject({
      url: 'https://pods.example.com',
    });
    expect(() => parse('--scenario users --duration 1', { PODSTORE_URL: 'http://pods.example.com' })).toThrow(
      /not loopback.*--url/,
    );
    expect(parse('--scenario users --duration 1', { PODSTORE_URL: 'http://localhost:8081' })).toMatchObject({
      url: 'http://localhost:8081',
    });
  });

  it('refuses what is not an http URL', () => {
    expect(() => parse('--scenario users --duration 1 --url ftp://127.0.0.1')).toThrow(/http/);
    expect(() => parse('--scenario users --duration 1 --url nope')).toThrow(/not a URL/);
  });

  it('answers help', () => {
    expect(parse('--help')).toBe('help');
  });
});

describe('isLoopbackUrl', () => {
  it.each([
    ['http://127.0.0.1:8080', true],
    ['http://127.1.2.3', true],
    ['http://localhost:1', true],
    ['http://[::1]:8080', true],
    ['http://10.0.0.1', false],
    ['http://128.0.0.1', false],
    ['http://localhost.example.com', false],
    ['garbage', false],
  ])('%s → %s', (url, loopback) => {
    expect(isLoopbackUrl(url)).toBe(loopback);
  });
});
