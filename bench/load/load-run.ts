/**
 * One load run end to end, callable from the CLI and from the benchmark suite: set the scenario up (sign
 * users up, seed pods), run the closed loop within its bounds, tear down, and return the JSON result.
 */

import { runPrefix } from './accounts.ts';
import type { LoadArgs } from './args.ts';
import { renderHostile, runHostile } from './hostile.ts';
import type { LoadSummary } from './recorder.ts';
import { runLoad, type Tick } from './runner.ts';
import { scenarios } from './scenarios/index.ts';

export interface LoadResult extends LoadSummary {
  scenario: string;
  url: string;
  connections: number;
  bounds: { duration?: number; requests?: number };
  startedAt: string;
  notices: string[];
  details: Record<string, unknown>;
}

export interface LoadIo {
  log: (line: string) => void;
  onTick?: (tick: Tick) => void;
}

export async function loadRun(args: LoadArgs, io: LoadIo): Promise<LoadResult> {
  const startedAt = new Date().toISOString();
  io.log(`setting up ${args.scenario} on ${args.url}`);
  const ctx = {
    url: args.url,
    connections: args.connections,
    users: args.users,
    mib: args.mib,
    prefix: runPrefix(),
    log: io.log,
    ...(args.token === undefined ? {} : { operatorToken: args.token }),
  };
  const bounds = {
    ...(args.duration === undefined ? {} : { duration: args.duration }),
    ...(args.requests === undefined ? {} : { requests: args.requests }),
  };
  if (args.scenario === 'hostile') {
    const { summary, notices, details } = await runHostile(args, ctx, io.onTick);
    io.log(renderHostile(details));
    const info = { scenario: args.scenario, url: args.url, connections: args.connections, bounds, startedAt };
    return { ...info, notices, details: details as unknown as Record<string, unknown>, ...summary };
  }
  const run = await scenarios[args.scenario](ctx);
  for (const notice of run.notices) io.log(`notice: ${notice}`);
  let summary: LoadSummary;
  try {
    summary = await runLoad(run, args.connections, bounds, io.onTick);
  } finally {
    await run.teardown();
  }
  return {
    scenario: args.scenario,
    url: args.url,
    connections: args.connections,
    bounds,
    startedAt,
    notices: run.notices,
    details: run.details?.() ?? {},
    ...summary,
  };
}
