// Line charts drawn as SVG in the DOM (no chart library): a few series over shared times, a y axis
// from zero to a round maximum, and the time span on the x axis.
import { s } from './dom.js';

/** One line: its legend label, its CSS class (colour), and a value per time. */
export interface Series {
  label: string;
  cls: string;
  values: number[];
}

const W = 560;
const H = 200;
const PAD = { left: 48, right: 12, top: 26, bottom: 22 };

/** 1, 2, 5 × 10^n at or above `v`: gridlines at round numbers. */
function roundUp(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function label(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(1)}`;
}

/** The chart of `series` over `times` (epoch ms, oldest first). */
export function lineChart(times: number[], series: Series[], title: string): SVGSVGElement {
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const max = roundUp(Math.max(0, ...series.flatMap((x) => x.values)));
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + plotH - (plotH * i) / 4;
    svg.append(
      s('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }),
      s('text', { class: 'axis', x: PAD.left - 6, y: y + 4, 'text-anchor': 'end' }, label((max * i) / 4)),
    );
  }
  const first = times[0];
  const last = times[times.length - 1];
  if (first !== undefined && last !== undefined) {
    const span = Math.max(1, last - first);
    const minutes = Math.round(span / 60_000);
    svg.append(
      s('text', { class: 'axis', x: PAD.left, y: H - 4 }, minutes >= 1 ? `${minutes} min ago` : `${Math.round(span / 1000)} s ago`),
      s('text', { class: 'axis', x: W - PAD.right, y: H - 4, 'text-anchor': 'end' }, 'now'),
    );
    for (const line of series) {
      const points = line.values.map((v, i) => {
        const x = PAD.left + (plotW * ((times[i] ?? last) - first)) / span;
        const y = PAD.top + plotH - (plotH * v) / max;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      svg.append(s('polyline', { class: line.cls, points: points.join(' ') }));
    }
  }
  let x = PAD.left;
  for (const line of series) {
    const current = line.values[line.values.length - 1];
    const text = `${line.label} ${current === undefined ? '' : label(current)}`;
    svg.append(s('rect', { class: line.cls, x, y: 6, width: 10, height: 10, rx: 2 }), s('text', { class: 'legend', x: x + 14, y: 15 }, text));
    x += 24 + text.length * 7;
  }
  return svg;
}
