/**
 * The digest chart as a PNG, rendered on this machine (resvg, no browser, no network), for both
 * platforms: neither Slack nor Teams shows SVG inline.
 */
import { Resvg } from '@resvg/resvg-js';
import type { DigestSeries } from '../src/reports/digest.js';
import { buildDigestChartSvg } from '../blocks/chart.js';

export const CHART_TITLE = 'Breaches and SLA attainment, last 8 weeks';

export function renderDigestChart(series: DigestSeries, title = CHART_TITLE): Buffer {
  const svg = buildDigestChartSvg(series, title);
  // System fonts (DejaVu on Debian); without any font the bars and lines still render.
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#ffffff' }).render().asPng();
}
