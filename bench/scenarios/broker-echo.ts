/**
 * The broker hop alone, beside its peer: the `bench.echo` command sent straight through ZeroMQ with the
 * api's BrokerClient (no HTTP) to a worker and back, and a NATS request-reply through nats-server to a
 * responder process, at the same payload size and concurrency, measured the same way (closed loop), in
 * alternating slices of the same run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { pino } from 'pino';
import { BrokerClient } from '../../api/broker-client.ts';
import { alternatingLoops, type LoadResult } from '../closed-loop.ts';

export interface EchoOptions {
  brokerEndpoint: string;
  natsUrl: string;
  payloadBytes: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  log: (line: string) => void;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUBJECT = 'bench.echo';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

async function brokerEchoOp(o: EchoOptions, payload: Buffer) {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const broker = new BrokerClient(
    { endpoint: o.brokerEndpoint, heartbeatMs: 1000, liveness: 3, highWaterMark: 10_000 },
    logger,
  );
  broker.start();
  for (let i = 0; i < 100 && !broker.available; i++) await new Promise((r) => setTimeout(r, 50));
  const call = { actor: null, requestId: 'bench-echo', idempotent: true, timeoutMs: 10_000 };
  const op = async () => {
    const outcome = await broker.call('bench', 'bench.echo', { payload }, call);
    if (!outcome.ok || !sameBytes(outcome.value as Uint8Array, payload)) throw new Error('bad echo');
  };
  return { op, close: () => broker.close() };
}

async function startResponder(natsUrl: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/nats-echo-responder.ts', natsUrl, SUBJECT],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  let out = '';
  child.stdout?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`NATS echo responder exited with ${code}`)));
  });
  return child;
}

async function natsEchoOp(o: EchoOptions, payload: Buffer) {
  const responder = await startResponder(o.natsUrl);
  // noAsyncTraces: without it nats.js makes an Error (a stack trace) per request, which took half of
  // this process's time in the profile; the baseline is NATS at its fastest, as the product runs it.
  const nc = await connect({ servers: o.natsUrl, name: 'bench-echo-requester', noAsyncTraces: true });
  const op = async () => {
    const reply = await nc.request(SUBJECT, payload, { timeout: 10_000 });
    if (!sameBytes(reply.data, payload)) throw new Error('bad echo');
  };
  const close = async () => {
    await nc.close();
    responder.kill('SIGTERM');
    await once(responder, 'exit');
  };
  return { op, close };
}

/**
 * Both echoes, `brokerEcho` and `natsEcho`: each warmed up, then measured in alternating slices (broker,
 * NATS, broker, NATS...) of about 2 s, so that both see the same load of the machine.
 */
export async function echoComparison(o: EchoOptions): Promise<Record<string, LoadResult>> {
  const payload = randomBytes(o.payloadBytes);
  o.log(
    `echo of ${o.payloadBytes} B at ${o.connections} concurrent: broker (ZeroMQ, api's BrokerClient → worker) and NATS request-reply (nats-server → responder process), in alternating slices`,
  );
  const broker = await brokerEchoOp(o, payload);
  try {
    const nats = await natsEchoOp(o, payload);
    try {
      await alternatingLoops({ broker: broker.op, nats: nats.op }, o.connections, 2 * o.warmupSeconds, 2);
      const slices = Math.max(1, Math.round(o.seconds / 2));
      const results = await alternatingLoops(
        { brokerEcho: broker.op, natsEcho: nats.op },
        o.connections,
        o.seconds,
        slices,
      );
      return results;
    } finally {
      await nats.close();
    }
  } finally {
    await broker.close();
  }
}
