/** Self time from a V8 CPU profile, by function and by package, idle excluded. */
import { describe, expect, it } from 'vitest';
import { type CpuProfile, packageOf, selfTimes } from '../../bench/profile-summary.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('selfTimes', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('send', 'file:///srv/podstore/protocol/socket-writer.ts', 9) },
      { id: 4, callFrame: frame('next', 'file:///srv/podstore/node_modules/zeromq/lib/index.js', 42) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    samples: [2, 3, 3, 4, 5, 2, 3],
    timeDeltas: [5000, 1000, 1000, 1000, 1000, 5000, 1000],
  };

  it('ranks functions and packages by self time, without idle time', () => {
    const s = selfTimes(profile);
    expect(s.idleMs).toBe(10);
    expect(s.busyMs).toBe(5);
    expect(s.byFunction[0]).toEqual({ name: 'send protocol/socket-writer.ts:10', ms: 3, percent: 60 });
    expect(s.byPackage.map((p) => [p.name, p.percent])).toEqual([
      ['protocol/', 60],
      ['zeromq', 20],
      ['(garbage collector)', 20],
    ]);
  });
});

describe('packageOf', () => {
  it.each([
    ['file:///x/node_modules/@scope/pkg/a.js', 'f', '@scope/pkg'],
    ['file:///x/node_modules/fastify/a.js', 'f', 'fastify'],
    ['node:internal/streams/readable', 'f', 'node:internal'],
    ['node:net', 'f', 'node:net'],
    ['file:///srv/podstore/api/app.ts', 'f', 'api/'],
    ['', '(garbage collector)', '(garbage collector)'],
    ['', 'writev', '(native)'],
  ])('%s %s → %s', (url, fn, pkg) => {
    expect(packageOf(url, fn)).toBe(pkg);
  });
});
