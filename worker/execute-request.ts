/**
 * One request, from frames to reply body: decode the command body (refusing documents nested deeper
 * than JSON_MAX_DEPTH, and a command that may change a pod's files sent as another pod's), hand the
 * broker's placement to whoever keeps pods in memory, run it through the router with a request-scoped
 * logger, count it, encode the outcome. Never throws.
 */
import { podOf } from '../protocol/command-args.ts';
import { decodeCommandBody } from '../protocol/command-body.ts';
import { LEAVES_FILES_UNCHANGED } from '../protocol/commands.ts';
import { DEFAULT_JSON_MAX_DEPTH, jsonDepthRule, valueTooDeep } from '../protocol/json-depth.ts';
import { ErrorCode, encodeOutcome, type Outcome } from '../protocol/outcome.ts';
import type { Placement } from '../protocol/placement.ts';
import type { Logger } from '../runtime/logger.ts';
import type { CommandRouter } from './command-router.ts';
import type { WorkerMetrics } from './metrics.ts';
import type { RequestChannel } from './streams/request-channel.ts';

export function requestExecutor(
  router: CommandRouter,
  metrics: WorkerMetrics,
  logger: Logger,
  jsonMaxDepth = DEFAULT_JSON_MAX_DEPTH,
  /** Sees every placement, in the order the commands arrived (record-cache.ts: `admit`). */
  onPlacement: (pod: string, placement: Placement) => void = () => undefined,
) {
  return async (channel: RequestChannel): Promise<Buffer> => {
    const { header, body } = channel;
    const log = logger.child({ requestId: header.requestId });
    const started = performance.now();
    metrics.inFlight.inc();
    let outcome: Outcome;
    try {
      // Before anything is awaited: placements are seen in the order the broker sent them.
      const { placement } = channel;
      if (header.pod !== undefined && placement !== undefined) onPlacement(header.pod, placement);
      const { actor, args } = decodeCommandBody(body);
      // A document in a command (a profile, a patch, a grant) sits one level below its arguments. A
      // deeper one is refused before any recursive code (merge patch, encoders) runs on it.
      if (valueTooDeep(args, jsonMaxDepth + 1)) throw new Error(jsonDepthRule(jsonMaxDepth));
      const pod = podOf(args);
      if (pod !== header.pod && !LEAVES_FILES_UNCHANGED.has(header.command)) {
        // The broker counts a pod's changes by the request's pod (broker/pod-placements.ts): a change
        // it did not see as the pod's could leave the pod's home remembering what is no longer so.
        throw new Error(`the request names pod ${header.pod ?? '(none)'}, its arguments ${pod ?? '(none)'}`);
      }
      outcome = await router.execute(header.command, args, {
        actor,
        requestId: header.requestId,
        deadline: header.deadline,
        redelivered: header.redelivered === true,
        logger: log,
        channel,
        placement: pod === header.pod ? placement : undefined,
      });
    } catch (err) {
      outcome = {
        ok: false,
        error: { code: ErrorCode.INVALID, detail: `bad command body: ${(err as Error).message}` },
      };
    }
    const code = outcome.ok ? 'ok' : outcome.error.code;
    const ms = performance.now() - started;
    metrics.inFlight.dec();
    metrics.commands.inc({ command: header.command, outcome: code });
    metrics.duration.observe({ command: header.command }, ms / 1000);
    log.debug({ command: header.command, outcome: code, ms: Math.round(ms * 10) / 10 }, 'command');
    return encodeOutcome(outcome);
  };
}
