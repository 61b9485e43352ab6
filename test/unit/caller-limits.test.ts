import { describe, expect, it } from 'vitest';
import { addressKey, CallerLimits } from '../../api/limits/caller-limits.ts';

const settings = {
  requestsPerCaller: 4,
  transfersPerCaller: 2,
  eventStreamsPerCaller: 1,
  requestsPerAddress: 3,
};

describe('CallerLimits', () => {
  it('refuses transfers past the per-caller bound, and only for that caller', () => {
    const limits = new CallerLimits(settings);
    const a = limits.acquire('alice', 'transfer');
    const b = limits.acquire('alice', 'transfer');
    expect(a.ok && b.ok).toBe(true);
    expect(limits.acquire('alice', 'transfer')).toEqual({ ok: false, reason: 'transfers' });
    // other work of the same caller and other callers are not affected
    expect(limits.acquire('alice', 'request').ok).toBe(true);
    expect(limits.acquire('bob', 'transfer').ok).toBe(true);
    if (a.ok) a.release();
    expect(limits.acquire('alice', 'transfer').ok).toBe(true);
  });

  it('counts transfers as requests in flight too', () => {
    const limits = new CallerLimits(settings);
    for (let i = 0; i < 2; i++) expect(limits.acquire('alice', 'transfer').ok).toBe(true);
    for (let i = 0; i < 2; i++) expect(limits.acquire('alice', 'request').ok).toBe(true);
    expect(limits.acquire('alice', 'request')).toEqual({ ok: false, reason: 'requests' });
    expect(limits.inFlight('alice')).toEqual({ requests: 4, transfers: 2, events: 0 });
  });

  it('bounds event streams apart from requests (a long-lived stream is not a request in flight)', () => {
    const limits = new CallerLimits(settings);
    expect(limits.acquire('alice', 'events').ok).toBe(true);
    expect(limits.acquire('alice', 'events')).toEqual({ ok: false, reason: 'events' });
    expect(limits.inFlight('alice')).toEqual({ requests: 0, transfers: 0, events: 1 });
    for (let i = 0; i < 4; i++) expect(limits.acquire('alice', 'request').ok).toBe(true);
  });

  it('bounds unauthenticated requests per address, whatever their kind', () => {
    const limits = new CallerLimits(settings);
    const key = addressKey('192.0.2.7');
    for (let i = 0; i < 3; i++) expect(limits.acquire(key, 'transfer', true).ok).toBe(true);
    expect(limits.acquire(key, 'request', true)).toEqual({ ok: false, reason: 'anonymous' });
    expect(limits.acquire(addressKey('192.0.2.8'), 'request', true).ok).toBe(true);
  });

  it('does not bound unauthenticated requests with a per-address limit of 0 (behind a proxy)', () => {
    const limits = new CallerLimits({ ...settings, requestsPerAddress: 0 });
    for (let i = 0; i < 100; i++)
      expect(limits.acquire(addressKey('10.0.0.1'), 'request', true).ok).toBe(true);
  });

  it('releases once however often release is called, and forgets idle callers', () => {
    const limits = new CallerLimits(settings);
    const slot = limits.acquire('alice', 'transfer');
    const other = limits.acquire('alice', 'request');
    if (!slot.ok || !other.ok) throw new Error('expected slots');
    slot.release();
    slot.release();
    expect(limits.inFlight('alice')).toEqual({ requests: 1, transfers: 0, events: 0 });
    other.release();
    expect(limits.callers).toBe(0);
  });

  it('an address key never equals a username', () => {
    expect(addressKey('127.0.0.1')).toMatch(/^ip:/);
    expect(/^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/.test(addressKey('::1'))).toBe(false);
  });
});
