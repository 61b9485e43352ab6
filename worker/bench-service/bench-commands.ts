/**
 * The `bench` service: commands that exist to measure podstore, and touch no pod. `bench.echo` returns
 * its payload (the broker hop alone); `bench.hash` burns CPU (worker scaling). The api exposes them only
 * when BENCH_ROUTES is on; the benchmark also calls them straight through the broker.
 */
import { SERVICES } from '../../protocol/commands.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { CommandRouter } from '../command-router.ts';
import { hashGenerated } from './hash-work.ts';

export const BENCH_SERVICE = SERVICES.bench;
/** Largest echo payload, in bytes. */
export const MAX_ECHO_BYTES = 1024 * 1024;

export function registerBenchCommands(router: CommandRouter): void {
  router
    .register('bench.echo', async (args) => {
      const payload = args.payload;
      if (!(payload instanceof Uint8Array)) throw new CommandError(ErrorCode.INVALID, 'payload is bytes');
      if (payload.length > MAX_ECHO_BYTES) {
        throw new CommandError(ErrorCode.TOO_LARGE, `payload is at most ${MAX_ECHO_BYTES} bytes`);
      }
      return payload;
    })
    .register('bench.hash', async (args, ctx) =>
      hashGenerated(typeof args.mib === 'number' ? args.mib : Number.NaN, ctx.requestId, ctx.deadline),
    );
}
