/**
 * Small text helpers shared by the Slack builders: date tokens, people, statuses. The packet's
 * entries come from the one presenter in ../packetText.ts.
 * Everything user-supplied goes through `escapeMrkdwn` before it reaches mrkdwn.
 */
import type { HandoffEventView, HandoffView, PersonRef } from '../../src/domain/view.js';
import type { HandoffStatus } from '../../src/domain/lifecycle.js';
import { escapeMrkdwn } from './limits.js';

/**
 * A Slack date token: every reader sees the time in their own zone. The fallback (UTC) shows
 * where tokens are not rendered (notifications, old clients).
 */
export function slackDate(iso: string | Date, format = '{date_short_pretty} at {time}'): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const unix = Math.floor(d.getTime() / 1000);
  const fallback = d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return `<!date^${unix}^${format}|${fallback}>`;
}

/** "2h 15m", "3d 4h", "45m", "under a minute". */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  const m = Math.floor(abs / 60_000);
  if (m < 1) return 'under a minute';
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  if (d > 0) return h ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return mm ? `${h}h ${mm}m` : `${h}h`;
  return `${mm}m`;
}

/** "in 2h 15m" or "overdue by 35m", relative to `now`. */
export function countdown(dueIso: string, now: Date): string {
  const ms = new Date(dueIso).getTime() - now.getTime();
  return ms >= 0 ? `in ${humanDuration(ms)}` : `overdue by ${humanDuration(ms)}`;
}

export function isOverdue(dueIso: string | null, now: Date): boolean {
  return dueIso !== null && new Date(dueIso).getTime() < now.getTime();
}

const SLACK_ID = /^[UW][A-Z0-9]{2,}$/;

/** A person as a Slack mention when we know their Slack id (trusted, from the playbook), else their escaped name. */
export function personText(p: Pick<PersonRef, 'name' | 'slackUserId'> | null | undefined): string {
  if (!p) return 'Baton';
  if (p.slackUserId && SLACK_ID.test(p.slackUserId)) return `<@${p.slackUserId}>`;
  return escapeMrkdwn(p.name);
}

/** The plain name, for plain_text objects and notification text. */
export function personName(p: Pick<PersonRef, 'name'> | null | undefined): string {
  return p?.name ?? 'Baton';
}

export const STATUS_EMOJI: Record<HandoffStatus, string> = {
  routed: ':large_blue_circle:',
  posted: ':large_blue_circle:',
  reassigned: ':arrows_counterclockwise:',
  escalated: ':rotating_light:',
  accepted: ':white_check_mark:',
  rejected: ':no_entry_sign:',
  completed: ':checkered_flag:',
  withdrawn: ':leftwards_arrow_with_hook:',
};

/** The event that produced the current version (the first one at that version; annotations come after). */
export function lastChange(view: HandoffView): HandoffEventView | undefined {
  return view.events?.find((e) => e.version === view.version);
}

/** Which deadline `slaDueAt` is, in words. */
export function deadlineLabel(view: HandoffView): string {
  return view.status === 'accepted' ? 'First touch due' : 'Accept by';
}

export { packetEntries, type PacketEntry } from '../packetText.js';
export { readSlaData, type SlaEventData } from '../packetText.js';

/** "accept SLA" / "first-touch SLA" from the SLA engine's `kind` (mrkdwn-safe: it comes from another module's data). */
export function slaKindLabel(kind: string | undefined): string {
  if (!kind) return 'SLA';
  if (/touch/i.test(kind)) return 'first-touch SLA';
  if (/accept/i.test(kind)) return 'accept SLA';
  return `${escapeMrkdwn(kind.replace(/_/g, ' ').slice(0, 60))} SLA`;
}

/** "50%" for 0.5, or the point as given (mrkdwn-safe). */
export function pointLabel(point: string | undefined): string | undefined {
  if (point === undefined) return undefined;
  const n = Number(point);
  return Number.isFinite(n) && n > 0 && n <= 1 ? `${Math.round(n * 100)}%` : escapeMrkdwn(point.slice(0, 60));
}
