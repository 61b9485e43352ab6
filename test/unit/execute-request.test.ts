/**
 * The worker's request executor (worker/execute-request.ts) and the broker's placements: every placement
 * is handed on in the order the commands arrived, a command gets its placement only when the request's
 * pod is the pod its arguments name, and a command that may change files is refused when they differ
 * (the broker counts a pod's changes by the request's pod: decision 0008).
 */
import { describe, expect, it } from 'vitest';
import { encodeCommandBody } from '../../protocol/command-body.ts';
import type { RequestHeader } from '../../protocol/frames.ts';
import { decodeOutcome, ErrorCode } from '../../protocol/outcome.ts';
import type { Placement } from '../../protocol/placement.ts';
import { createLogger } from '../../runtime/logger.ts';
import { type CommandContext, CommandRouter } from '../../worker/command-router.ts';
import { requestExecutor } from '../../worker/execute-request.ts';
import { createWorkerMetrics } from '../../worker/metrics.ts';
import { RequestChannel } from '../../worker/streams/request-channel.ts';

const placement: Placement = { run: 1, epoch: 9, exclusive: true };

function setup() {
  const seen: { command: string; placement: Placement | undefined }[] = [];
  const admitted: string[] = [];
  const record = async (_args: unknown, ctx: CommandContext) => {
    seen.push({ command: 'ran', placement: ctx.placement });
    return null;
  };
  const router = new CommandRouter().register('files.info', record).register('files.delete', record);
  const execute = requestExecutor(
    router,
    createWorkerMetrics(),
    createLogger('test', 'silent'),
    32,
    (pod, p) => admitted.push(`${pod}@${p.epoch}`),
  );
  const run = async (command: string, pod: string | undefined, args: object) => {
    const header: RequestHeader = {
      id: '1',
      service: 'files',
      command,
      deadline: Date.now() + 10_000,
      idempotent: true,
      requestId: 'r1',
      ...(pod === undefined ? {} : { pod }),
    };
    const channel = new RequestChannel(header, encodeCommandBody({ actor: 'ann', args }), async () => {});
    channel.placement = placement;
    return decodeOutcome(await execute(channel));
  };
  return { run, seen, admitted };
}

describe('requestExecutor and placements', () => {
  it("hands the placement to the command when the request's pod is its arguments' pod", async () => {
    const { run, seen, admitted } = setup();
    const outcome = await run('files.info', 'ann', { owner: 'ann', path: 'a.txt' });
    expect(outcome.ok).toBe(true);
    expect(seen).toEqual([{ command: 'ran', placement }]);
    expect(admitted).toEqual(['ann@9']);
  });

  it('runs a read sent as another pod without the placement (it may not use memory)', async () => {
    const { run, seen } = setup();
    const outcome = await run('files.info', 'bob', { owner: 'ann', path: 'a.txt' });
    expect(outcome.ok).toBe(true);
    expect(seen).toEqual([{ command: 'ran', placement: undefined }]);
  });

  it('refuses a change sent as another pod, or as no pod, before it runs', async () => {
    const { run, seen } = setup();
    for (const pod of ['bob', undefined]) {
      const outcome = await run('files.delete', pod, { owner: 'ann', path: 'a.txt' });
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error.code).toBe(ErrorCode.INVALID);
      expect(!outcome.ok && outcome.error.detail).toMatch(/names pod/);
    }
    expect(seen).toEqual([]);
  });
});
