// A line chart as a standalone SVG file: no plotting library, no external resources, so the
// benchmark results render anywhere (GitHub, a browser, an image viewer).

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  /** [x, y] points, drawn in order; `label` is written beside the point. */
  readonly points: readonly { x: number; y: number; label?: string }[];
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Tick positions on x; default: round steps from 0. Given ticks are spaced evenly (a categorical axis). */
  readonly xTicks?: readonly number[];
  /** Vertical reference lines, e.g. a throughput ceiling. */
  readonly markers?: readonly { x: number; color: string }[];
  /** Extra lines under the legend. */
  readonly notes?: readonly string[];
}

const W = 720, H = 440, LEFT = 60, RIGHT = 200, TOP = 30, BOTTOM = 50;

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

export function lineChart(chart: Chart): string {
  const all = chart.series.flatMap((s) => s.points);
  const categorical = chart.xTicks !== undefined;
  const ticksX = chart.xTicks ?? evenTicks(Math.max(...all.map((p) => p.x), ...(chart.markers ?? []).map((m) => m.x)) * 1.05);
  const ticksY = evenTicks(Math.max(...all.map((p) => p.y)) * 1.05);
  const maxY = ticksY[ticksY.length - 1];
  // A categorical axis puts its ticks at equal distances (batch 1, 8, 32); a numeric one scales.
  const x = categorical
    ? (v: number) => LEFT + ((ticksX.indexOf(v) + 0.5) / ticksX.length) * (W - LEFT - RIGHT)
    : (v: number) => LEFT + (v / ticksX[ticksX.length - 1]) * (W - LEFT - RIGHT);
  const y = (v: number) => H - BOTTOM - (v / maxY) * (H - TOP - BOTTOM);
  const f = (v: number) => v.toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14">${escape(chart.title)}</text>`,
    ...ticksX.map((v) => `<line x1="${f(x(v))}" y1="${TOP}" x2="${f(x(v))}" y2="${H - BOTTOM}" stroke="#eee"/><text x="${f(x(v))}" y="${H - BOTTOM + 16}" text-anchor="middle">${round(v)}</text>`),
    ...ticksY.map((v) => `<line x1="${LEFT}" y1="${f(y(v))}" x2="${W - RIGHT}" y2="${f(y(v))}" stroke="#eee"/><text x="${LEFT - 6}" y="${f(y(v) + 4)}" text-anchor="end">${round(v)}</text>`),
    `<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 12}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${(TOP + H - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
    ...(chart.markers ?? []).map((m) => `<line x1="${f(x(m.x))}" y1="${TOP}" x2="${f(x(m.x))}" y2="${H - BOTTOM}" stroke="${m.color}" stroke-dasharray="2 4"/>`),
  ];
  chart.series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${f(x(p.x))},${f(y(p.y))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const p of s.points) {
      parts.push(`<circle cx="${f(x(p.x))}" cy="${f(y(p.y))}" r="3" fill="${s.color}"/>`);
      if (p.label) parts.push(`<text x="${f(x(p.x) + 5)}" y="${f(y(p.y) - 5)}" font-size="10" fill="#555">${escape(p.label)}</text>`);
    }
    const ly = TOP + 10 + i * 20;
    parts.push(`<line x1="${W - RIGHT + 15}" y1="${ly}" x2="${W - RIGHT + 45}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/><text x="${W - RIGHT + 52}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  (chart.notes ?? []).forEach((note, i) => {
    parts.push(`<text x="${W - RIGHT + 15}" y="${TOP + 14 + (chart.series.length + i) * 20}" font-size="11">${escape(note)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** 0 up to at least `max` in about five round steps (1, 2, 2.5 or 5 × 10^k). */
function evenTicks(max: number): number[] {
  const magnitude = 10 ** Math.floor(Math.log10(max / 5));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s * 5 >= max)!;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

function round(v: number): string {
  return v >= 10 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
