/**
 * The live progress line on stderr: rewritten in place on a terminal; with --progress elsewhere, one line
 * per tick. Off when stderr is not a terminal and --progress was not given.
 */
import { progressLine } from './render.ts';
import type { Tick } from './runner.ts';

export interface Progress {
  onTick?: (tick: Tick) => void;
  /** Ends the line, if one was drawn. */
  done(): void;
}

export function progressOn(stream: NodeJS.WriteStream, forced: boolean): Progress {
  if (!stream.isTTY && !forced) return { done: () => undefined };
  let drawn = false;
  return {
    onTick(tick) {
      if (stream.isTTY) stream.write(`\r\x1b[2K${progressLine(tick)}`);
      else stream.write(`${progressLine(tick)}\n`);
      drawn = true;
    },
    done() {
      if (drawn && stream.isTTY) stream.write('\n');
    },
  };
}
