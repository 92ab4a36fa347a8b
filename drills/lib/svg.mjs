// Hand-written SVG line charts for the drill reports: stacked panels over one time axis, shaded
// phase bands (the fault window), threshold lines (the runbook's alert lines). No dependencies:
// the drill renders its own picture from the numbers it measured.

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" upper bound and step for an axis from 0 to max. */
function niceScale(max) {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: step * Math.ceil(max / step), step };
}

function fmt(v) {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${Math.round(v / 100) / 10}k`;
  if (Math.abs(v) >= 10) return String(Math.round(v));
  if (Math.abs(v) >= 1) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 1000) / 1000);
}

/**
 * chart({ title, xLabel, xMax?, bands: [{ from, to, label, color? }], panels: [{ label, series:
 * [{ name, points: [[x, y]], color? }], hlines?: [{ y, label, color? }], yMax? }] }) → SVG text.
 */
export function chart({ title, xLabel = 'seconds', xMax, bands = [], panels, width = 860 }) {
  const panelH = 150;
  const gap = 46;
  const left = 64;
  const right = 110;
  const top = 40;
  const plotW = width - left - right;
  const height = top + panels.length * (panelH + gap) + 10;
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[0])));
  const xTop = xMax ?? Math.max(1, ...allX, ...bands.map((b) => b.to));
  const xs = xMax === undefined ? niceScale(xTop) : { top: xMax, step: niceScale(xMax).step };
  const X = (x) => left + (x / xs.top) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((p, i) => {
    const y0 = top + i * (panelH + gap);
    const ys = p.series.flatMap((s) => s.points.map((pt) => pt[1])).filter(Number.isFinite);
    const yMax = p.yMax ?? Math.max(...ys, ...(p.hlines ?? []).map((h) => h.y * 1.15), 0);
    const sc = niceScale(yMax);
    const Y = (y) => y0 + panelH - (Math.min(y, sc.top) / sc.top) * panelH;
    bands.forEach((b, k) => {
      parts.push(`<rect x="${X(b.from).toFixed(1)}" y="${y0}" width="${(X(b.to) - X(b.from)).toFixed(1)}" height="${panelH}" fill="${b.color ?? '#f4c7c3'}" fill-opacity="0.45"/>`);
      // Labels inside the first panel, staggered so that neighbouring bands do not overwrite each other.
      if (i === 0) parts.push(`<text x="${(X(b.from) + 3).toFixed(1)}" y="${y0 + 12 + (k % 2) * 13}" fill="#7a2a22">${esc(b.label)}</text>`);
    });
    for (let v = 0; v <= sc.top + 1e-9; v += sc.step) {
      parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e3e3e3"/>`);
      parts.push(`<text x="${left - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
    }
    parts.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelH}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${esc(p.label)}</text>`);
    for (const h of p.hlines ?? []) {
      if (h.y > sc.top) continue;
      parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(h.y).toFixed(1)}" y2="${Y(h.y).toFixed(1)}" stroke="${h.color ?? '#d62728'}" stroke-dasharray="5,4"/>`);
      parts.push(`<text x="${left + plotW + 6}" y="${(Y(h.y) + 4).toFixed(1)}" fill="${h.color ?? '#d62728'}">${esc(h.label)}</text>`);
    }
    p.series.forEach((s, j) => {
      const color = s.color ?? PALETTE[j % PALETTE.length];
      const segs = [];
      let cur = [];
      for (const [x, y] of s.points) {
        if (!Number.isFinite(y)) {
          if (cur.length) segs.push(cur);
          cur = [];
          continue;
        }
        cur.push(`${X(x).toFixed(1)},${Y(y).toFixed(1)}`);
      }
      if (cur.length) segs.push(cur);
      for (const seg of segs) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${seg.join(' ')}"/>`);
      // Legend: in the panel's header line, right-aligned over the plot.
      const lx = left + plotW - (p.series.length - j) * 120;
      parts.push(`<line x1="${lx}" x2="${lx + 16}" y1="${y0 - 10}" y2="${y0 - 10}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<text x="${lx + 20}" y="${y0 - 6}">${esc(s.name)}</text>`);
    });
    for (let v = 0; v <= xs.top + 1e-9; v += xs.step) {
      parts.push(`<text x="${X(v).toFixed(1)}" y="${y0 + panelH + 14}" text-anchor="middle" fill="#555">${fmt(v)}</text>`);
    }
    if (i === panels.length - 1) parts.push(`<text x="${left + plotW / 2}" y="${y0 + panelH + 30}" text-anchor="middle">${esc(xLabel)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A horizontal bar chart (one bar per label), for before/after figures. */
export function bars({ title, unit = '', items, width = 640 }) {
  const rowH = 26;
  const left = 220;
  const plotW = width - left - 90;
  const height = 44 + items.length * rowH;
  const max = Math.max(...items.map((i) => i.value), 1e-9);
  const sc = niceScale(max);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  items.forEach((it, i) => {
    const y = 34 + i * rowH;
    const w = (it.value / sc.top) * plotW;
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(it.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${it.color ?? PALETTE[i % PALETTE.length]}"/>`);
    parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + 14}">${esc(fmt(it.value))}${esc(unit)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
