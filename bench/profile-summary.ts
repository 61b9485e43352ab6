/**
 * `tsx bench/profile-summary.ts <file.cpuprofile>... [--top 15]`: where a process spent its CPU, from
 * V8 profiles written by `node --cpu-prof` (`npm run bench -- --cpu-prof <dir>` profiles every stack
 * process). Prints self time by function and by package (node_modules package, project folder, or
 * V8's own entries such as (garbage collector)), idle time excluded from the percentages.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time, in %. */
  percent: number;
}

const IDLE = new Set(['(idle)', '(program)']);

/** Everything of a frame's URL up to the project folder or the package it is in. */
const PROJECT_PREFIX =
  /^.*?\/(?:node_modules\/|(?=(?:api|broker|worker|protocol|runtime|client|bench|deploy|scripts)\/))/;

/** The package a frame belongs to: `fastify`, `api/`, `node:internal`, `(garbage collector)`... */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return modules[1];
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  const project = /\/(api|broker|worker|protocol|client|bench|deploy)\//.exec(url);
  return project?.[1] === undefined ? url : `${project[1]}/`;
}

export function selfTimes(profile: CpuProfile): {
  busyMs: number;
  idleMs: number;
  byFunction: SelfTime[];
  byPackage: SelfTime[];
} {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (const node of profile.nodes) {
    const us = byNode.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (IDLE.has(functionName)) {
      idle += us;
      continue;
    }
    busy += us;
    const file = url.replace(PROJECT_PREFIX, '');
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    const p = packageOf(url, functionName);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        percent: Math.round((us / busy) * 1000) / 10,
      }));
  return {
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    byFunction: rank(fn),
    byPackage: rank(pkg),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '15' } },
  });
  const top = Number(values.top);
  for (const file of positionals) {
    const summary = selfTimes(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
    const lines = [
      `${file}: busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`,
      '  by package:',
      ...summary.byPackage
        .slice(0, top)
        .map((s) => `    ${String(s.percent).padStart(5)} %  ${String(s.ms).padStart(7)} ms  ${s.name}`),
      '  by function (self time):',
      ...summary.byFunction
        .slice(0, top)
        .map((s) => `    ${String(s.percent).padStart(5)} %  ${String(s.ms).padStart(7)} ms  ${s.name}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
