/**
 * The broker hop alone, beside its peer: the `bench.echo` command sent straight through ZeroMQ with the
 * api's BrokerClient (no HTTP) to a worker and back, and a NATS request-reply through nats-server to a
 * responder process, at the same payload size and concurrency, measured the same way (closed loop).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { pino } from 'pino';
import { BrokerClient } from '../../api/broker-client.ts';
import { closedLoop, type LoadResult } from '../closed-loop.ts';

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

async function brokerEcho(o: EchoOptions, payload: Buffer): Promise<LoadResult> {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const broker = new BrokerClient(
    { endpoint: o.brokerEndpoint, heartbeatMs: 1000, liveness: 3, highWaterMark: 10_000 },
    logger,
  );
  broker.start();
  try {
    for (let i = 0; i < 100 && !broker.available; i++) await new Promise((r) => setTimeout(r, 50));
    const call = { actor: null, requestId: 'bench-echo', idempotent: true, timeoutMs: 10_000 };
    const op = async () => {
      const outcome = await broker.call('bench', 'bench.echo', { payload }, call);
      if (!outcome.ok || !sameBytes(outcome.value as Uint8Array, payload)) throw new Error('bad echo');
    };
    await closedLoop(op, o.connections, o.warmupSeconds);
    return await closedLoop(op, o.connections, o.seconds);
  } finally {
    await broker.close();
  }
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

async function natsEcho(o: EchoOptions, payload: Buffer): Promise<LoadResult> {
  const responder = await startResponder(o.natsUrl);
  const nc = await connect({ servers: o.natsUrl, name: 'bench-echo-requester' });
  try {
    const op = async () => {
      const reply = await nc.request(SUBJECT, payload, { timeout: 10_000 });
      if (!sameBytes(reply.data, payload)) throw new Error('bad echo');
    };
    await closedLoop(op, o.connections, o.warmupSeconds);
    return await closedLoop(op, o.connections, o.seconds);
  } finally {
    await nc.close();
    responder.kill('SIGTERM');
    await once(responder, 'exit');
  }
}

/** Both echoes, one after the other: `brokerEcho` and `natsEcho`. */
export async function echoComparison(o: EchoOptions): Promise<Record<string, LoadResult>> {
  const payload = randomBytes(o.payloadBytes);
  o.log(
    `echo of ${o.payloadBytes} B at ${o.connections} concurrent: broker (ZeroMQ, api's BrokerClient → worker)`,
  );
  const brokerEchoResult = await brokerEcho(o, payload);
  o.log('echo: NATS request-reply (nats-server → responder process)');
  const natsEchoResult = await natsEcho(o, payload);
  return { brokerEcho: brokerEchoResult, natsEcho: natsEchoResult };
}
