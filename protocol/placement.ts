/**
 * A placement: what the broker tells the worker it hands a pod's command to about the pod (decision
 * 0008, broker/pod-placements.ts). It travels as one extra frame of the REQUEST, 11 bytes:
 * `exclusive` (1 byte, 0 or 1), the broker's run (uint32, big-endian), the pod's epoch (uint48,
 * big-endian). A request without it has no placement: the worker treats it as not exclusive.
 */
export interface Placement {
  /** The broker's run: a restarted broker numbers epochs afresh, so a worker compares both. */
  run: number;
  /** Changes whenever a worker other than the pod's home may have changed the pod's files. */
  epoch: number;
  /** The receiving worker is the pod's home and may use and fill its memory of the pod for this command. */
  exclusive: boolean;
}

export const PLACEMENT_BYTES = 11;

export function encodePlacement(placement: Placement): Buffer {
  const frame = Buffer.allocUnsafe(PLACEMENT_BYTES);
  frame[0] = placement.exclusive ? 1 : 0;
  frame.writeUInt32BE(placement.run >>> 0, 1);
  frame.writeUIntBE(placement.epoch, 5, 6);
  return frame;
}

/** The placement in `frame`; undefined when it is not one (frames.ts refuses the message). */
export function decodePlacement(frame: Buffer): Placement | undefined {
  if (frame.length !== PLACEMENT_BYTES || (frame[0] !== 0 && frame[0] !== 1)) return undefined;
  return { exclusive: frame[0] === 1, run: frame.readUInt32BE(1), epoch: frame.readUIntBE(5, 6) };
}

/** Two placements of one pod under the same broker run and epoch. */
export const sameEpoch = (a: Placement, b: Placement) => a.run === b.run && a.epoch === b.epoch;
