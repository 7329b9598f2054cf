// Small charts drawn as inline SVG. Charts are drawn at the pixel width they get (and redrawn
// when it changes) so text stays the same size on a phone and on a desktop. Colours come from
// CSS classes (`.bar.team-sales`, `.bar.stage-lead`, …) so the palette lives in style.css.

import { h, svg } from './dom.js';

/**
 * Horizontal bars, one per item: `[{ label, value, className }]`.
 * `title` names the chart for assistive tech; every value is also written next to its bar,
 * as `format(value)` gives it (default: the number).
 */
export function barChart(items, { width, title, format = (value) => value.toLocaleString() }) {
  const row = 30;
  const top = 4;
  const labelWidth = Math.min(150, Math.round(width * 0.34));
  const valueWidth = Math.max(56, ...items.map((item) => format(item.value).length * 7.5 + 8));
  const plot = Math.max(40, width - labelWidth - valueWidth - 8);
  const height = top * 2 + Math.max(items.length, 1) * row;
  const max = Math.max(1, ...items.map((item) => item.value));

  const chart = frame(width, height, title, items.map((item) => `${item.label}: ${format(item.value)}`).join(', '));
  if (items.length === 0) {
    chart.append(svg('text', { x: width / 2, y: height / 2, class: 'chart-empty', 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, 'No data yet'));
    return chart;
  }
  items.forEach((item, index) => {
    const y = top + index * row;
    const length = Math.max(item.value > 0 ? 2 : 0, (item.value / max) * plot);
    chart.append(svg('g', { class: 'bar-row' },
      svg('title', {}, `${item.label}: ${format(item.value)}`),
      svg('text', { x: labelWidth - 10, y: y + row / 2, class: 'chart-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, shorten(item.label, Math.floor(labelWidth / 8))),
      svg('rect', { x: labelWidth, y: y + 5, width: plot, height: row - 10, rx: 4, class: 'track' }),
      svg('rect', { x: labelWidth, y: y + 5, width: length, height: row - 10, rx: 4, class: `bar ${item.className ?? ''}` }),
      svg('text', { x: width - 4, y: y + row / 2, class: 'chart-value', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, format(item.value))));
  });
  return chart;
}

/**
 * Vertical bars grouped by period: `groups` is `[{ label, values: { key: number } }]`,
 * `series` is `[{ key, label, className }]` in drawing order.
 */
export function groupedBarChart(groups, series, { width, height = 240, title }) {
  const margin = { top: 12, right: 8, bottom: 28, left: 40 };
  const plotWidth = Math.max(60, width - margin.left - margin.right);
  const plotHeight = height - margin.top - margin.bottom;
  const values = groups.flatMap((group) => series.map((s) => group.values[s.key] ?? 0));
  const ticks = niceTicks(Math.max(1, ...values));
  const top = ticks[ticks.length - 1];
  const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;

  const description = groups.map((group) =>
    `${group.label}: ${series.map((s) => `${s.label} ${group.values[s.key] ?? 0}`).join(', ')}`).join('; ');
  const chart = frame(width, height, title, description);

  for (const tick of ticks) {
    chart.append(
      svg('line', { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick), class: tick === 0 ? 'axis' : 'grid' }),
      svg('text', { x: margin.left - 8, y: y(tick), class: 'chart-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, tick.toLocaleString()));
  }

  const band = plotWidth / Math.max(groups.length, 1);
  const barWidth = Math.max(2, (band * 0.78) / series.length);
  const labelEvery = Math.ceil(56 / band); // skip labels that would overlap on narrow screens
  groups.forEach((group, index) => {
    const x0 = margin.left + index * band + band * 0.11;
    series.forEach((s, position) => {
      const value = group.values[s.key] ?? 0;
      chart.append(svg('rect', {
        x: x0 + position * barWidth, y: y(value), width: Math.max(1, barWidth - 1), height: Math.max(0, y(0) - y(value)),
        class: `bar ${s.className}`,
      }, svg('title', {}, `${group.label}, ${s.label}: ${value.toLocaleString()}`)));
    });
    if (index % labelEvery === 0) {
      chart.append(svg('text', { x: margin.left + index * band + band / 2, y: height - 8, class: 'chart-tick', 'text-anchor': 'middle' }, group.short ?? group.label));
    }
  });
  return chart;
}

/** An HTML legend for a chart's series (text, with a colour swatch beside it). */
export function legend(series) {
  return h('ul', { class: 'legend' }, series.map((s) =>
    h('li', {}, h('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.label)));
}

/** The `<svg>` element of every chart, with its accessible name and description. */
function frame(width, height, title, description) {
  return svg('svg', {
    class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `${title}. ${description}`,
  }, svg('title', {}, title));
}

/** Round steps from 0 to at least `max`: 0, 5, 10, 15 … (integers: these are counts). */
function niceTicks(max, count = 4) {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].find((n) => n * magnitude >= raw) * magnitude);
  const ticks = [];
  for (let value = 0; value < max + step; value += step) ticks.push(value);
  return ticks;
}

function shorten(text, length) {
  const value = String(text);
  return value.length > length ? `${value.slice(0, Math.max(1, length - 1))}…` : value;
}
