/** A one-line progress bar on a terminal stream: bytes done, percent, rate. Redraws at most 10 times a second. */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

const WIDTH = 30;

export function progressBar(total: number, out: { write(text: string): unknown }, label: string): Progress {
  const started = performance.now();
  let last = 0;
  let done = 0;
  const draw = () => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds / 2 ** 20 : 0;
    out.write(
      `\r${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${(done / 2 ** 20).toFixed(1)}/${(total / 2 ** 20).toFixed(1)} MiB ${rate.toFixed(1)} MiB/s`,
    );
  };
  return {
    update(value) {
      done = value;
      const now = performance.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    finish() {
      done = Math.max(done, total);
      draw();
      out.write('\n');
    },
  };
}
