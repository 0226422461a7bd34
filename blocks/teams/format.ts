/**
 * Wording shared by the Teams cards: status lines, packet values, the SLA event data. Pure; the
 * result is either Baton's own text (safe for TextBlocks) or raw text that callers put in TextRuns.
 */
import type { HandoffEventView, HandoffView } from '../../src/domain/view.js';
import type { HandoffStatus } from '../../src/domain/lifecycle.js';
import { localDateTime, md } from './card.js';

const STATUS_ICON: Record<HandoffStatus, string> = {
  routed: '🔵',
  posted: '🔵',
  reassigned: '🔄',
  escalated: '🚨',
  accepted: '✅',
  rejected: '⛔',
  completed: '🏁',
  withdrawn: '↩️',
};

export type Tone = 'default' | 'good' | 'warning' | 'attention';

export const STATUS_TONE: Record<HandoffStatus, Tone> = {
  routed: 'default',
  posted: 'default',
  reassigned: 'default',
  escalated: 'attention',
  accepted: 'good',
  rejected: 'warning',
  completed: 'good',
  withdrawn: 'default',
};

/** The event that produced the current version (the first one at that version; annotations come after). */
export function lastChange(view: HandoffView): HandoffEventView | undefined {
  return view.events?.find((e) => e.version === view.version);
}

export interface StatusLine {
  /** Markdown-safe: Baton's wording, playbook names through `md`, date tokens. */
  text: string;
  /** Free text someone typed (a reject note): goes into a TextRun. */
  note?: string;
}

/** "✅ Accepted by Amelia Hughes · {{DATE}} {{TIME}}", "🔵 Awaiting acceptance by Amelia Hughes". */
export function statusLine(view: HandoffView, rejectReasons: readonly { code: string; label: string }[] = []): StatusLine {
  const icon = STATUS_ICON[view.status];
  const e = lastChange(view);
  const by = e?.actor ? ` by ${md(e.actor.name)}` : e ? ' by Baton' : '';
  const when = e ? ` · ${localDateTime(e.at)}` : '';
  const owner = md(view.owner.name);
  switch (view.status) {
    case 'routed':
    case 'posted':
      return { text: `${icon} Awaiting acceptance by ${owner}` };
    case 'reassigned': {
      const reason = reasonOf(e);
      return { text: `${icon} Reassigned to ${owner}${by}${when}${reason ? ` (${md(reason)})` : ''} — awaiting acceptance`, ...(e?.note ? { note: e.note } : {}) };
    }
    case 'escalated':
      return { text: `${icon} SLA breached — escalated${view.escalationLevel > 0 ? ` (step ${view.escalationLevel})` : ''}; still awaiting acceptance by ${owner}` };
    case 'accepted':
      return { text: `${icon} Accepted${by}${when}${view.firstTouchAt ? ` · first touch ${localDateTime(view.firstTouchAt)}` : ''}` };
    case 'rejected': {
      const label = e?.reasonCode ? (rejectReasons.find((r) => r.code === e.reasonCode)?.label ?? e.reasonCode) : undefined;
      return { text: `${icon} Rejected${by}${when}${label ? `: ${md(label)}` : ''}`, ...(e?.note ? { note: e.note } : {}) };
    }
    case 'completed':
      return { text: `${icon} Completed${by}${when}` };
    case 'withdrawn':
      return { text: `${icon} Withdrawn${by}${when}`, ...(e?.note ? { note: e.note } : {}) };
  }
}

function reasonOf(e: HandoffEventView | undefined): string | undefined {
  const d = e?.data;
  if (typeof d === 'object' && d !== null && typeof (d as Record<string, unknown>).reason === 'string') return (d as Record<string, string>).reason;
  return undefined;
}

/** Which deadline `slaDueAt` is, in words. */
export function deadlineLabel(view: HandoffView): string {
  return view.status === 'accepted' ? 'First touch due' : 'Accept by';
}

export { packetEntries, type PacketEntry } from '../packetText.js';

export { readSlaData, type SlaEventData } from '../packetText.js';

/** "first touch" / "acceptance", from the SLA event's kind. */
export function slaKindLabel(kind: string | undefined): string {
  if (!kind) return 'the SLA';
  return /touch/i.test(kind) ? 'the first-touch SLA' : /accept/i.test(kind) ? 'the accept SLA' : 'the SLA';
}

/** "50 %" for 0.5 or "50%", else the point as given. */
export function pointLabel(point: string | undefined): string | undefined {
  if (point === undefined) return undefined;
  const n = Number(point.replace('%', ''));
  if (!Number.isFinite(n)) return point;
  return n > 0 && n <= 1 ? `${Math.round(n * 100)} %` : `${Math.round(n)} %`;
}
