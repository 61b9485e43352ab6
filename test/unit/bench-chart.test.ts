/** The scaling chart is well-formed SVG with one point per worker count and series. */
import { describe, expect, it } from 'vitest';
import { niceMax, scalingChart } from '../../bench/chart.ts';

/**
 * A strict well-formedness check for the XML subset the chart uses: every tag closes in order,
 * attributes are quoted, text holds no raw `<` or bare `&`. Returns the element names in document order.
 */
function wellFormed(xml: string): string[] {
  const names: string[] = [];
  const open: string[] = [];
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let at = 0;
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    at = token.lastIndex;
    const [, closing, name, , selfClosing, text] = m;
    if (text !== undefined) {
      if (/&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(text)) throw new Error(`bare & in ${JSON.stringify(text)}`);
      continue;
    }
    if (closing) {
      if (open.pop() !== name) throw new Error(`</${name}> closes nothing open`);
    } else {
      names.push(name as string);
      if (!selfClosing) open.push(name as string);
    }
  }
  if (at !== xml.length) throw new Error(`not XML at ${at}: ${xml.slice(at, at + 40)}`);
  if (open.length > 0) throw new Error(`unclosed: ${open.join(', ')}`);
  return names;
}

const points = [
  { workers: 1, rps: 25.5, p99: 458.2 },
  { workers: 2, rps: 48.1, p99: 250 },
  { workers: 4, rps: 50.3, p99: 290.7 },
];

describe('scalingChart', () => {
  const svg = scalingChart(points, { title: 'processing <sha256> & workers', subtitle: '8 MiB' });

  it('is well-formed SVG with an svg root', () => {
    const names = wellFormed(svg.trim());
    expect(names[0]).toBe('svg');
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="640" height="380" viewBox="0 0 640 380"/,
    );
    expect(svg).toContain('processing &lt;sha256&gt; &amp; workers');
  });

  it('has one point per worker count in each series', () => {
    expect(svg.match(/<circle class="point throughput"/g)).toHaveLength(3);
    expect(svg.match(/<circle class="point p99"/g)).toHaveLength(3);
    const series = /<polyline class="series throughput" points="([^"]+)"/.exec(svg)?.[1]?.split(' ');
    expect(series).toHaveLength(3);
  });

  it('places more throughput higher and more workers further right', () => {
    const coords = [...svg.matchAll(/<circle class="point throughput" cx="([\d.]+)" cy="([\d.]+)"/g)].map(
      (m) => [Number(m[1]), Number(m[2])],
    );
    expect(coords.map(([x]) => x)).toEqual([...coords.map(([x]) => x)].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(coords[1]?.[1]).toBeLessThan(coords[0]?.[1] ?? 0);
  });

  it('sorts the points and draws any number of them', () => {
    const five = scalingChart(
      [5, 3, 1, 4, 2].map((workers) => ({ workers, rps: workers * 10, p99: 100 })),
      { title: 't' },
    );
    wellFormed(five.trim());
    expect(five.match(/<circle class="point p99"/g)).toHaveLength(5);
    expect(five.match(/<text [^>]*text-anchor="middle">[1-5]<\/text>/g)).toHaveLength(5);
  });

  it('draws an empty chart for no points', () => {
    const empty = scalingChart([], { title: 'nothing yet' });
    wellFormed(empty.trim());
    expect(empty).not.toContain('<circle');
  });
});

describe('niceMax', () => {
  it.each([
    [0, 1],
    [0.7, 1],
    [3, 5],
    [11, 20],
    [21, 25],
    [26, 50],
    [480, 500],
    [501, 1000],
  ])('%d → %d', (v, nice) => {
    expect(niceMax(v)).toBe(nice);
  });
});
