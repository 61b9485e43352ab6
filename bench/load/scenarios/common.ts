/** What every scenario shares: its context, weighted choice of operations, generated and drained bodies. */
import { randomBytes } from 'node:crypto';
import type { Op, ScenarioRun } from '../runner.ts';

export interface ScenarioContext {
  url: string;
  connections: number;
  users: number;
  /** large-files: MiB per file; processing: MiB hashed per request. */
  mib: number;
  /** The operator's token, sent with sign-ups only. */
  operatorToken?: string;
  /** Fresh per run: user names are `<prefix>-<i>`. */
  prefix: string;
  log: (line: string) => void;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioRun>;

/** The name whose cumulative weight first exceeds `r` × total; `r` in [0, 1). */
export function pickWeighted<T extends string>(weights: readonly (readonly [T, number])[], r: number): T {
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  let at = r * total;
  for (const [name, weight] of weights) {
    if (at < weight) return name;
    at -= weight;
  }
  const last = weights[weights.length - 1];
  if (last === undefined) throw new Error('no weights');
  return last[0];
}

export const randomInt = (n: number) => Math.floor(Math.random() * n);

const BLOCK = randomBytes(1024 * 1024);

/** `total` bytes of a repeated random MiB, made as they are sent: nothing is held in memory. */
export function generatedBody(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const n = Math.min(BLOCK.length, total - sent);
      controller.enqueue(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n));
      sent += n;
    },
  });
}

/** Reads a body to its end, keeping nothing; resolves to its length. */
export async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return bytes;
}

/** An operation whose success has a known status: the SDK resolves only on 2xx and throws otherwise. */
export function sdkOp(name: string, status: number, work: () => Promise<unknown>): Op {
  return {
    name,
    run: async () => {
      await work();
      return { status };
    },
  };
}
