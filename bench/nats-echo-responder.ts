/**
 * The NATS side of the echo comparison, as a process of its own (as a worker is): subscribes to
 * `subject` on the NATS server and answers every request with its payload. Prints `ready` once the
 * subscription is in place. `node --import tsx bench/nats-echo-responder.ts <nats-url> <subject>`
 */
import { connect } from 'nats';

const [url, subject] = process.argv.slice(2);
if (url === undefined || subject === undefined) {
  process.stderr.write('usage: nats-echo-responder.ts <nats-url> <subject>\n');
  process.exit(2);
}
// noAsyncTraces: NATS at its fastest (no stack trace per request), as the baseline should be.
const nc = await connect({ servers: url, name: 'bench-echo-responder', noAsyncTraces: true });
const subscription = nc.subscribe(subject, {
  callback: (err, msg) => {
    if (err === null) msg.respond(msg.data);
  },
});
await nc.flush();
process.stdout.write('ready\n');
const stop = async () => {
  subscription.unsubscribe();
  await nc.drain();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
