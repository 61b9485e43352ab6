/**
 * An account is an incarnation, not a name: the pure rules that keep a deleted account's events,
 * webhooks and late writes from reaching a later account of the same name.
 */
import { describe, expect, it } from 'vitest';
import { canSeeEvent, type EventView } from '../../api/events/can-see-event.ts';
import { ofIncarnation, type PodEvent } from '../../protocol/events/event.ts';
import { CommandError } from '../../protocol/outcome.ts';
import { type Incarnation, type IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import { type StoredWebhook, wants } from '../../worker/webhooks/webhooks-service.ts';

const event = (over: Partial<PodEvent> = {}): PodEvent => ({
  id: 'e1',
  time: '2026-06-01T12:00:00.000Z',
  kind: 'file.created',
  owner: 'alice',
  actor: 'alice',
  path: 'medical/lab.pdf',
  incarnation: 'new',
  ...over,
});

const ownerView: EventView = {
  all: true,
  scopes: [],
  incarnation: 'new',
  ownerSince: '2026-06-01T00:00:00.000Z',
};

describe('which account an event belongs to', () => {
  it('matches a tagged event by incarnation only', () => {
    const account = { id: 'new', createdAt: '2026-06-01T00:00:00.000Z' };
    expect(ofIncarnation(event(), account)).toBe(true);
    expect(ofIncarnation(event({ incarnation: 'old' }), account)).toBe(false);
    // A tagged event of another account is not the account's, however recent.
    expect(ofIncarnation(event({ incarnation: 'old', time: '2027-01-01T00:00:00.000Z' }), account)).toBe(
      false,
    );
  });

  it('judges an untagged (older) event by its time against the account’s creation', () => {
    const account = { id: 'new', createdAt: '2026-06-01T00:00:00.000Z' };
    const { incarnation: _, ...untagged } = event();
    expect(ofIncarnation(untagged, account)).toBe(true);
    expect(ofIncarnation({ ...untagged, time: '2026-05-31T23:59:59.999Z' }, account)).toBe(false);
  });
});

describe('canSeeEvent', () => {
  it('shows the owner only its own account’s events', () => {
    expect(canSeeEvent(ownerView, event())).toBe(true);
    expect(canSeeEvent(ownerView, event({ incarnation: 'old' }))).toBe(false);
    expect(canSeeEvent(ownerView, event({ kind: 'user.deleted', path: undefined, incarnation: 'old' }))).toBe(
      false,
    );
  });

  it('shows a grantee file events in its scopes only from when it got each scope', () => {
    const view: EventView = {
      all: false,
      scopes: ['/medical/', '/inbox/'],
      incarnation: 'new',
      ownerSince: '2026-01-01T00:00:00.000Z',
      scopeSince: { '/medical/': '2026-06-01T12:00:00.000Z', '/inbox/': '2026-07-01T00:00:00.000Z' },
    };
    expect(canSeeEvent(view, event())).toBe(true);
    expect(canSeeEvent(view, event({ time: '2026-06-01T11:59:59.000Z' }))).toBe(false);
    expect(canSeeEvent(view, event({ path: 'inbox/a.pdf' }))).toBe(false); // before the inbox grant
    expect(canSeeEvent(view, event({ path: 'inbox/a.pdf', time: '2026-07-02T00:00:00.000Z' }))).toBe(true);
    expect(canSeeEvent(view, event({ path: 'notes/a.txt', time: '2026-07-02T00:00:00.000Z' }))).toBe(false);
    expect(canSeeEvent(view, event({ incarnation: 'old', time: '2026-07-02T00:00:00.000Z' }))).toBe(false);
  });
});

describe('webhooks of an account', () => {
  const hook: StoredWebhook = {
    id: 'inbox',
    owner: 'alice',
    url: 'https://hooks.example.com/',
    prefix: '',
    kinds: [],
    secret: 'x'.repeat(16),
    ownerIncarnation: 'new',
    createdAt: '2026-06-01T00:00:00.000Z',
    updatedAt: '2026-06-01T00:00:00.000Z',
  };

  it('get only their own account’s events', () => {
    expect(wants(hook, event())).toBe(true);
    expect(wants(hook, event({ incarnation: 'old' }))).toBe(false);
    expect(wants({ ...hook, kinds: ['file.deleted'] }, event())).toBe(false);
  });

  it('made before incarnations, get only events not older than themselves', () => {
    const { ownerIncarnation: _, ...legacy } = hook;
    expect(wants(legacy, event())).toBe(true);
    expect(wants(legacy, event({ time: '2026-05-01T00:00:00.000Z' }))).toBe(false);
  });
});

describe('PodWriteGuard', () => {
  const account = (id: string): Incarnation => ({ id, createdAt: '2026-06-01T00:00:00.000Z' });
  function setup(initial: Incarnation | undefined) {
    const state = { current: initial, now: 0, reads: 0 };
    const reader = {
      current: async () => {
        state.reads++;
        return state.current;
      },
    } as unknown as IncarnationReader;
    return { state, guard: new PodWriteGuard(reader, 2000, () => state.now) };
  }

  it('writes under a fresh observation without looking again', async () => {
    const { state, guard } = setup(account('a'));
    const seen = await guard.observe('alice');
    state.now = 900;
    let undone = false;
    await guard.write(
      'alice',
      seen,
      async () => 'written',
      async () => {
        undone = true;
      },
    );
    expect([state.reads, undone]).toEqual([1, false]);
  });

  it('refuses a write planned for an account that is gone or replaced', async () => {
    const { state, guard } = setup(account('a'));
    const seen = await guard.observe('alice');
    state.now = 1500; // older than half the settle time: looked at again
    state.current = account('b');
    let wrote = false;
    await expect(
      guard.write(
        'alice',
        seen,
        async () => {
          wrote = true;
        },
        async () => {},
      ),
    ).rejects.toThrow(/deleted/);
    expect(wrote).toBe(false);
    state.current = undefined;
    await expect(
      guard.write(
        'alice',
        seen,
        async () => {},
        async () => {},
      ),
    ).rejects.toBeInstanceOf(CommandError);
  });

  it('undoes a write that took too long while the account went', async () => {
    const { state, guard } = setup(account('a'));
    let undone = false;
    await expect(
      guard.write(
        'alice',
        undefined,
        async () => {
          state.now = 1500; // the write itself was slow...
          state.current = undefined; // ...and the account was erased meanwhile
        },
        async () => {
          undone = true;
        },
      ),
    ).rejects.toThrow(/deleted/);
    expect(undone).toBe(true);
  });

  it('keeps a slow write when the account is still the same', async () => {
    const { state, guard } = setup(account('a'));
    let undone = false;
    const result = await guard.write(
      'alice',
      undefined,
      async () => {
        state.now = 5000;
        return 'kept';
      },
      async () => {
        undone = true;
      },
    );
    expect([result, undone]).toEqual(['kept', false]);
  });

  it('answers from a sight younger than a quarter of the settle time, and looks again after it', async () => {
    const { state, guard } = setup(account('a'));
    const first = await guard.observe('alice');
    state.now = 499; // settle 2000: remembered for 500 ms
    const again = await guard.observe('alice');
    expect([state.reads, again.at]).toEqual([1, first.at]); // the sight keeps the time it was made
    state.now = 500;
    await guard.observe('alice');
    expect(state.reads).toBe(2);
    // A read of the account itself never comes from memory.
    await guard.observeNow('alice');
    expect(state.reads).toBe(3);
  });

  it('vouches with a remembered sight only as long as with a fresh one', async () => {
    const { state, guard } = setup(account('a'));
    await guard.observe('alice'); // at 0
    state.now = 450;
    const remembered = await guard.observe('alice');
    expect(state.reads).toBe(1);
    // The write ends past half the settle time from the sight (1000 ms), not from its own start.
    let undone = false;
    await expect(
      guard.write(
        'alice',
        remembered,
        async () => {
          state.now = 1001;
          state.current = undefined; // erased meanwhile
        },
        async () => {
          undone = true;
        },
      ),
    ).rejects.toThrow(/deleted/);
    expect(undone).toBe(true);
    // And the gone account is not remembered: the next write looks.
    await expect(guard.observe('alice')).rejects.toBeInstanceOf(CommandError);
    expect(state.reads).toBe(3);
  });

  it('forgets an account erased on this worker, and one it found gone', async () => {
    const { state, guard } = setup(account('a'));
    await guard.observe('alice');
    guard.forget('alice');
    await guard.observe('alice');
    expect(state.reads).toBe(2);
    state.current = undefined;
    await expect(guard.observeNow('alice')).rejects.toBeInstanceOf(CommandError);
    state.current = account('b'); // a new account took the name: seen afresh
    expect((await guard.observe('alice')).incarnation.id).toBe('b');
    expect(state.reads).toBe(4);
  });

  it('remembers a bounded number of accounts, dropping the oldest sight', async () => {
    const state = { reads: 0 };
    const reader = {
      current: async () => {
        state.reads++;
        return account('a');
      },
    } as unknown as IncarnationReader;
    const guard = new PodWriteGuard(reader, 2000, () => 0, 2);
    await guard.observe('u1');
    await guard.observe('u2');
    await guard.observe('u3'); // u1 dropped
    await guard.observe('u3');
    await guard.observe('u2');
    expect(state.reads).toBe(3);
    await guard.observe('u1');
    expect(state.reads).toBe(4);
  });
});
