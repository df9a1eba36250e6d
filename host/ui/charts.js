// Charts of hourly buckets as plain SVG, shared by the dashboard
// (/ui/charts.js) and the customer portal (/portal/charts.js): the same
// file, embedded once. Loaded before the page's own script; defines
// globals. Every text goes in as textContent.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, typeof v === 'number' ? v.toFixed(1) : v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const ms = (v) => (v == null ? '' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
const hhmm = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/**
 * An SVG chart of hourly buckets: stacked bars (bars: [value(b), class],
 * bottom first) with a line on its own scale (line: [value(b), class,
 * unit]); `tip(b)` is each hour's tooltip.
 */
function hourlyChart(buckets, bars, line, tip, label) {
  const [W, H, L, R, T, B] = [560, 120, 34, 52, 8, 18];
  const pw = W - L - R; const ph = H - T - B; const bw = pw / Math.max(1, buckets.length);
  const maxBar = Math.max(1, ...buckets.map((b) => bars.reduce((sum, [f]) => sum + (f(b) || 0), 0)));
  const lineValues = buckets.map((b) => line[0](b));
  const maxLine = Math.max(1, ...lineValues.filter((v) => v != null));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label });
  root.append(svg('line', { x1: L, y1: T + ph, x2: L + pw, y2: T + ph, class: 'axis' }),
    svg('text', { x: L - 4, y: T + 8, 'text-anchor': 'end', class: 'tick' }, String(maxBar)),
    svg('text', { x: L - 4, y: T + ph, 'text-anchor': 'end', class: 'tick' }, '0'),
    svg('text', { x: L, y: H - 4, class: 'tick' }, buckets.length ? hhmm(buckets[0].start) : ''),
    svg('text', { x: L + pw, y: H - 4, 'text-anchor': 'end', class: 'tick' }, 'now'));
  buckets.forEach((b, i) => {
    const g = svg('g');
    g.append(svg('title', {}, tip(b)), svg('rect', { x: L + i * bw, y: T, width: bw, height: ph, class: 'slot' }));
    let y = T + ph;
    for (const [f, cls] of bars) {
      const height = ((f(b) || 0) / maxBar) * ph;
      if (height <= 0) continue;
      y -= height;
      g.append(svg('rect', { x: L + i * bw + bw * 0.1, y, width: Math.max(1, bw * 0.8), height, class: cls }));
    }
    root.append(g);
  });
  if (lineValues.some((v) => v != null)) {
    let d = '';
    let pen = false;
    lineValues.forEach((v, i) => {
      if (v == null) { pen = false; return; }
      const x = L + (i + 0.5) * bw; const y = T + ph - (v / maxLine) * ph;
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)} `;
      pen = true;
      root.append(svg('circle', { cx: x, cy: y, r: 2, class: line[1] }));
    });
    root.append(svg('path', { d: d.trim(), class: line[1] }),
      svg('text', { x: L + pw + 4, y: T + 8, class: `tick ${line[1]}` }, `${ms(maxLine)}`));
  }
  return root;
}
