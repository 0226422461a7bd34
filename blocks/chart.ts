/**
 * The digest chart as SVG: breaches per week stacked by transition (bars, left axis) and overall
 * SLA attainment (line, right axis) over the last weeks. Pure; the platform adapters turn it into
 * a PNG (bots/digest.ts) because neither Slack nor Teams shows SVG inline.
 */
import type { DigestSeries } from '../src/reports/digest.js';

export const CHART_SIZE = { width: 960, height: 480 } as const;
const PALETTE = ['#2563eb', '#f97316', '#16a34a', '#dc2626', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
const FONT = "DejaVu Sans, Arial, Helvetica, sans-serif";

export function buildDigestChartSvg(series: DigestSeries, title: string): string {
  const { width: W, height: H } = CHART_SIZE;
  const m = { top: 56, right: 64, bottom: 120, left: 56 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const weeks = series.weeks.length;
  const totals = series.weeks.map((_, w) => series.transitions.reduce((n, t) => n + (t.breaches[w] ?? 0), 0));
  const maxBreaches = niceCeil(Math.max(1, ...totals));
  const slot = plotW / Math.max(1, weeks);
  const barW = Math.min(56, slot * 0.6);
  const y = (v: number) => m.top + plotH - (v / maxBreaches) * plotH;
  const yPct = (p: number) => m.top + plotH - p * plotH;
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(text(m.left, 32, title, { size: 20, weight: 'bold' }));
  // Grid and axes.
  for (let i = 0; i <= 4; i++) {
    const v = (maxBreaches / 4) * i;
    const gy = y(v);
    parts.push(`<line x1="${m.left}" y1="${gy.toFixed(1)}" x2="${m.left + plotW}" y2="${gy.toFixed(1)}" stroke="#e5e7eb"/>`);
    parts.push(text(m.left - 8, gy + 4, fmt(v), { size: 12, anchor: 'end', fill: '#4b5563' }));
    parts.push(text(m.left + plotW + 8, yPct(i / 4) + 4, `${i * 25}%`, { size: 12, fill: '#4b5563' }));
  }
  parts.push(text(m.left - 44, m.top - 12, 'breaches', { size: 12, fill: '#4b5563' }));
  parts.push(text(m.left + plotW + 8, m.top - 12, 'SLA met', { size: 12, fill: '#4b5563' }));
  // Stacked bars.
  series.weeks.forEach((week, w) => {
    const x = m.left + slot * w + (slot - barW) / 2;
    let acc = 0;
    series.transitions.forEach((t, i) => {
      const n = t.breaches[w] ?? 0;
      if (n <= 0) return;
      const top = y(acc + n);
      parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(acc) - top).toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"/>`);
      acc += n;
    });
    if (acc > 0) parts.push(text(x + barW / 2, y(acc) - 4, String(acc), { size: 12, anchor: 'middle' }));
    parts.push(text(m.left + slot * w + slot / 2, m.top + plotH + 18, week.slice(5), { size: 12, anchor: 'middle', fill: '#374151' }));
  });
  // SLA attainment line (gaps where nothing was measured).
  let path = '';
  series.overall.slaAttainment.forEach((p, w) => {
    if (p === null) return;
    const px = m.left + slot * w + slot / 2;
    path += `${path && series.overall.slaAttainment[w - 1] !== null ? 'L' : 'M'}${px.toFixed(1)},${yPct(p).toFixed(1)} `;
    parts.push(`<circle cx="${px.toFixed(1)}" cy="${yPct(p).toFixed(1)}" r="4" fill="#111827"/>`);
  });
  if (path) parts.push(`<path d="${path.trim()}" fill="none" stroke="#111827" stroke-width="2.5"/>`);
  // Legend.
  const legend = [...series.transitions.map((t, i) => ({ label: t.name, color: PALETTE[i % PALETTE.length]!, line: false })), { label: 'SLA met (all)', color: '#111827', line: true }];
  const cols = 3;
  legend.forEach((l, i) => {
    const lx = m.left + (i % cols) * (plotW / cols);
    const ly = m.top + plotH + 44 + Math.floor(i / cols) * 20;
    parts.push(l.line ? `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 14}" y2="${ly - 4}" stroke="${l.color}" stroke-width="2.5"/>` : `<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${l.color}"/>`);
    parts.push(text(lx + 20, ly, l.label, { size: 12, fill: '#111827' }));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

function text(x: number, y: number, s: string, o: { size: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; fill?: string }): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${o.size}"${o.anchor ? ` text-anchor="${o.anchor}"` : ''}${o.weight ? ` font-weight="${o.weight}"` : ''} fill="${o.fill ?? '#111827'}">${escapeXml(s)}</text>`;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceCeil(v: number): number {
  // Multiples of 4, so the four grid lines fall on whole numbers of breaches.
  const steps = [4, 8, 12, 16, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000];
  return steps.find((s) => s >= v) ?? Math.ceil(v / 400) * 400;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
