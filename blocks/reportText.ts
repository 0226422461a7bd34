/**
 * Platform-neutral wording of reports (KPIs, digest, timeline): labels, formatted values and the
 * week-over-week change with whether it is good news. Slack and Teams builders map these lines to
 * their own markup, so both say the same thing in the same words.
 */
import type { KpiValues } from '../src/reports/kpis.js';
import type { DigestView, Metric } from '../src/reports/digest.js';
import type { AccountTimeline } from '../src/reports/timeline.js';
import { formatDuration } from '../src/sla/businessTime.js';

export type Tone = 'good' | 'bad' | 'neutral';

export interface ReportLine {
  label: string;
  value: string;
  /** e.g. "▲ 12 pts vs last week"; empty when there is nothing to compare. */
  change: string;
  tone: Tone;
}

export function pct(v: number | null): string {
  return v === null ? '—' : `${Math.round(v * 100)}%`;
}

export function secs(v: number | null): string {
  return v === null ? '—' : formatDuration(v * 1000);
}

type Kind = 'count' | 'rate' | 'seconds';

function changeText(value: number | null, previous: number | null, kind: Kind, higherIsBetter: boolean, against: string): { change: string; tone: Tone } {
  if (value === null || previous === null) return { change: '', tone: 'neutral' };
  const delta = value - previous;
  if (delta === 0) return { change: `= ${against}`, tone: 'neutral' };
  const arrow = delta > 0 ? '▲' : '▼';
  const size = kind === 'rate' ? `${Math.abs(Math.round(delta * 100))} pts` : kind === 'seconds' ? formatDuration(Math.abs(delta) * 1000) : String(Math.abs(delta));
  return { change: `${arrow} ${size} ${against}`, tone: (delta > 0) === higherIsBetter ? 'good' : 'bad' };
}

function line(label: string, value: number | null, previous: number | null, kind: Kind, higherIsBetter: boolean, against: string): ReportLine {
  const shown = kind === 'rate' ? pct(value) : kind === 'seconds' ? secs(value) : value === null ? '—' : String(value);
  return { label, value: shown, ...changeText(value, previous, kind, higherIsBetter, against) };
}

/** The KPI headline for a period with its previous period. */
export function kpiLines(v: KpiValues, previous: KpiValues | null, against = 'vs previous period'): ReportLine[] {
  const p = previous;
  return [
    line('Handoffs', v.volume, p?.volume ?? null, 'count', true, against),
    line('SLA attainment', v.slaAttainment, p?.slaAttainment ?? null, 'rate', true, against),
    line('Time to accept (median)', v.acceptWallP50S, p?.acceptWallP50S ?? null, 'seconds', false, against),
    line('Time to accept (p90)', v.acceptWallP90S, p?.acceptWallP90S ?? null, 'seconds', false, against),
    line('Time to first touch (median)', v.firstTouchWallP50S, p?.firstTouchWallP50S ?? null, 'seconds', false, against),
    line('Rejection rate', v.rejectionRate, p?.rejectionRate ?? null, 'rate', false, against),
    line('Reassignment rate', v.reassignmentRate, p?.reassignmentRate ?? null, 'rate', false, against),
    line('Breaches', v.breaches, p?.breaches ?? null, 'count', false, against),
    line('Waiting for acceptance past SLA', v.overdueUnaccepted, p?.overdueUnaccepted ?? null, 'count', false, against),
    line('Time lost waiting before acceptance', v.timeLostWallS, p?.timeLostWallS ?? null, 'seconds', false, against),
  ];
}

export function digestLines(d: DigestView): ReportLine[] {
  const m = (label: string, x: Metric, kind: Kind) => line(label, x.value, x.previous, kind, x.higherIsBetter, 'vs last week');
  return [
    m('Handoffs', d.headline.volume, 'count'),
    m('SLA attainment', d.headline.slaAttainment, 'rate'),
    m('Time to accept (median)', d.headline.acceptP50S, 'seconds'),
    m('Breaches', d.headline.breaches, 'count'),
    m('Rejection rate', d.headline.rejectionRate, 'rate'),
    m('Reassignment rate', d.headline.reassignmentRate, 'rate'),
  ];
}

const EVENT_WORDS: Record<string, string> = {
  received: 'received',
  routed: 'routed',
  posted: 'posted',
  accepted: 'accepted',
  rejected: 'rejected',
  reassigned: 'reassigned',
  escalated: 'escalated',
  completed: 'completed',
  withdrawn: 'withdrawn',
  first_touch: 'first touch',
  nudged: 'reminder sent',
  snoozed: 'snoozed',
  sla_breach: 'SLA breached',
};

/** One sentence per timeline entry, oldest first: "#12 Marketing → SDR: accepted by Dana Kim". */
export function timelineLines(t: AccountTimeline): { at: string; text: string }[] {
  return t.entries.map((e) => {
    const who = e.actor ? ` by ${e.actor.name}` : '';
    const owner = e.type === 'routed' || e.type === 'reassigned' ? (e.owner ? ` to ${e.owner.name}` : '') : '';
    const why = [e.reasonCode, e.note, e.detail].filter(Boolean).join(' — ');
    return { at: e.at, text: `#${e.handoffId} ${e.transitionName}: ${EVENT_WORDS[e.type] ?? e.type}${owner}${who}${why ? ` (${why})` : ''}` };
  });
}

/** The monthly review as plain sentences, grouped under three headings. */
export function reviewSections(r: import('../src/reports/review.js').MonthlyReview): { title: string; lines: string[] }[] {
  return [
    {
      title: 'Failures by transition and reason',
      lines: r.failures.map((f) => `${f.transitionName}: ${f.outcome === 'withdrawn' ? 'withdrawn' : `rejected — ${f.reasonLabel ?? 'no reason'}`} (${f.count})`),
    },
    {
      title: 'Packet fields most often named in rejections',
      lines: r.fieldsNamedInRejections.map((f) => `${f.label} (${f.transition}): ${f.count}`),
    },
    {
      title: 'SLA breaches by step',
      lines: r.breachesByStep.map((b) => `${b.transitionName}, ${b.kind === 'accept' ? 'accept' : 'first touch'} SLA, escalation step ${b.level}: ${b.count} (median ${secs(b.medianLateS)} late)`),
    },
  ];
}
