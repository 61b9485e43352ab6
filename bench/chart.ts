/**
 * The scaling chart, as hand-written SVG: throughput (req/s, left axis, solid) and p99 latency (ms,
 * right axis, dashed) against the number of workers, with linear scaling from one worker as a faint
 * reference (clipped to the plot). One `<circle class="point throughput">` and one `<circle class="point p99">` per worker
 * count. Pure: the same points give the same bytes.
 */

export interface ScalingPoint {
  workers: number;
  rps: number;
  p99: number;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  width?: number;
  height?: number;
}

const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1));
const r1 = (n: number) => Math.round(n * 10) / 10;

/** The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ v (and > 0). */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}

export function scalingChart(points: ScalingPoint[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 380;
  const m = { left: 70, right: 70, top: 64, bottom: 56 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const sorted = [...points].sort((a, b) => a.workers - b.workers);
  const base = sorted[0];
  const maxWorkers = Math.max(1, ...sorted.map((p) => p.workers));
  const ideal = base === undefined ? [] : sorted.map((p) => (base.rps * p.workers) / base.workers);
  const rpsMax = niceMax(Math.max(...sorted.map((p) => p.rps), ...ideal.slice(0, 2), 0) * 1.1);
  const p99Max = niceMax(Math.max(...sorted.map((p) => p.p99), 0) * 1.1);
  // The widest worker count sits a little inside the right axis, so its labels stay readable.
  const x = (workers: number) => r1(m.left + (workers / (maxWorkers * 1.1)) * plotW);
  const yRps = (v: number) => r1(m.top + plotH - (v / rpsMax) * plotH);
  const yP99 = (v: number) => r1(m.top + plotH - (v / p99Max) * plotH);
  const line = (coords: [number, number][]) => coords.map(([a, b]) => `${a},${b}`).join(' ');

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<defs><clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}"/></clipPath></defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  ];
  if (options.subtitle !== undefined) {
    out.push(
      `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(options.subtitle)}</text>`,
    );
  }
  // Grid and axes: 5 horizontal steps, one tick per measured worker count.
  for (let i = 0; i <= 5; i++) {
    const y = r1(m.top + plotH - (i / 5) * plotH);
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${y + 4}" text-anchor="end" fill="#1f77b4">${fmt((rpsMax * i) / 5)}</text>`,
      `<text x="${m.left + plotW + 8}" y="${y + 4}" fill="#d62728">${fmt((p99Max * i) / 5)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left + plotW}" y1="${m.top}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="#333"/>`,
  );
  for (const p of sorted) {
    out.push(`<text x="${x(p.workers)}" y="${m.top + plotH + 18}" text-anchor="middle">${p.workers}</text>`);
  }
  out.push(
    `<text x="${m.left + plotW / 2}" y="${height - 14}" text-anchor="middle">workers</text>`,
    `<text transform="translate(18 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#1f77b4">throughput (req/s)</text>`,
    `<text transform="translate(${width - 14} ${m.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#d62728">p99 latency (ms)</text>`,
  );
  if (sorted.length > 0) {
    out.push(
      `<polyline class="ideal" points="${line(sorted.map((p, i) => [x(p.workers), yRps(ideal[i] ?? 0)]))}" fill="none" stroke="#1f77b4" stroke-opacity="0.3" stroke-dasharray="2 4" clip-path="url(#plot)"/>`,
      `<polyline class="series throughput" points="${line(sorted.map((p) => [x(p.workers), yRps(p.rps)]))}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
      `<polyline class="series p99" points="${line(sorted.map((p) => [x(p.workers), yP99(p.p99)]))}" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  }
  for (const p of sorted) {
    // Labels go away from each other: the higher point's above it, the lower point's below it.
    const rpsAbove = yRps(p.rps) <= yP99(p.p99);
    const label = (y: number, above: boolean) => (above ? y - 9 : y + 18);
    out.push(
      `<circle class="point throughput" cx="${x(p.workers)}" cy="${yRps(p.rps)}" r="4" fill="#1f77b4"><title>${p.workers} workers: ${fmt(p.rps)} req/s</title></circle>`,
      `<text x="${x(p.workers)}" y="${label(yRps(p.rps), rpsAbove)}" text-anchor="middle" fill="#1f77b4">${fmt(p.rps)} req/s</text>`,
      `<circle class="point p99" cx="${x(p.workers)}" cy="${yP99(p.p99)}" r="4" fill="#d62728"><title>${p.workers} workers: p99 ${fmt(p.p99)} ms</title></circle>`,
      `<text x="${x(p.workers)}" y="${label(yP99(p.p99), !rpsAbove)}" text-anchor="middle" fill="#d62728">${fmt(p.p99)} ms</text>`,
    );
  }
  const legendY = m.top - 12;
  out.push(
    `<line x1="${m.left}" y1="${legendY}" x2="${m.left + 24}" y2="${legendY}" stroke="#1f77b4" stroke-width="2"/>`,
    `<text x="${m.left + 30}" y="${legendY + 4}">throughput</text>`,
    `<line x1="${m.left + 120}" y1="${legendY}" x2="${m.left + 144}" y2="${legendY}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>`,
    `<text x="${m.left + 150}" y="${legendY + 4}">p99 latency</text>`,
    `<line x1="${m.left + 250}" y1="${legendY}" x2="${m.left + 274}" y2="${legendY}" stroke="#1f77b4" stroke-opacity="0.3" stroke-dasharray="2 4"/>`,
    `<text x="${m.left + 280}" y="${legendY + 4}">linear from 1 worker</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
