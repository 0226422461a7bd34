/**
 * Messages around the card: audit events as thread replies, SLA reminders and escalations (with
 * the reminder buttons the view's affordances offer: Accept, Reassign, Snooze as they apply), and
 * the ephemeral answers to a click that could not be applied.
 */
import type { Button, KnownBlock } from '@slack/types';
import type { HandoffEventView, HandoffView } from '../../src/domain/view.js';
import { utcMinute, type HandoffStatus } from '../../src/domain/lifecycle.js';
import type { ViewerHandoffView } from '../../src/domain/affordances.js';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../actions.js';
import { LIMITS, escapeMrkdwn, plain, safeMrkdwn, truncate } from './limits.js';
import { countdown, personText, pointLabel, readSlaData, slackDate, slaKindLabel } from './format.js';
import { STATUS_LABEL } from '../statusText.js';
import type { SlackMessage } from './card.js';
import { timelineLine } from './modals.js';

/** Audit events the card itself already shows, so they get no thread reply. */
export const SILENT_EVENTS: readonly string[] = ['received', 'routed', 'posted'];

/** One audit event, as a reply in the card's thread. */
export function buildEventReply(event: HandoffEventView, reasons: readonly { code: string; label: string }[] = []): SlackMessage {
  const line = timelineLine(event, reasons).replace(/^• /, '');
  return {
    text: truncate(line, LIMITS.messageText),
    blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(line, LIMITS.contextText) }] }],
  };
}

function title(view: HandoffView): string {
  return `*${safeMrkdwn(view.transitionName, 200)} · ${safeMrkdwn(view.account.name, 300)}* (#${view.id})`;
}

function button(action: keyof typeof CARD_ACTIONS, label: string, view: HandoffView, style?: 'primary' | 'danger'): Button {
  const b: Button = { type: 'button', action_id: CARD_ACTIONS[action].slack, text: plain(label, LIMITS.buttonText), value: encodeSlackButtonValue(view.id, view.version) };
  if (style) b.style = style;
  return b;
}

/** The reminder buttons the core offers this audience, in its order, then Full packet. */
function reminderButtons(view: ViewerHandoffView): Button[] {
  const out: Button[] = [];
  for (const a of view.affordances.actions) {
    if (!view.affordances.offeredOnReminder.includes(a.action)) continue;
    const cardAction = a.action as keyof typeof CARD_ACTIONS;
    if (CARD_ACTIONS[cardAction]) out.push(button(cardAction, a.label, view, a.action === 'accept' ? 'primary' : undefined));
  }
  out.push(button('details', 'Full packet', view));
  return out;
}

/** DM to the owner when an SLA point passes. `data` comes from the SLA engine and is read defensively. */
export function buildNudgeMessage(view: ViewerHandoffView, data: unknown, now: Date): SlackMessage {
  const sla = readSlaData(data);
  const due = sla.dueAt ?? view.slaDueAt;
  const point = pointLabel(sla.point);
  const lead = `:alarm_clock: Reminder${point ? ` (${point} of the ${slaKindLabel(sla.kind)} used)` : ''}: ${title(view)} is waiting for you.`;
  const dueLine = due ? `\n${view.status === 'accepted' ? 'First touch due' : 'Accept by'} ${slackDate(due)} (${countdown(due, now)}).` : '';
  const buttons = reminderButtons(view);
  return {
    text: truncate(`Reminder: ${escapeMrkdwn(view.transitionName)} for ${escapeMrkdwn(view.account.name)} is waiting for you`, LIMITS.messageText),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(lead + dueLine, LIMITS.sectionText) } },
      { type: 'actions', block_id: `nudge_${view.id}`, elements: buttons },
    ] satisfies KnownBlock[],
  };
}

/** Posted in the team channel and sent to the escalation target when an SLA is breached. */
export function buildEscalationMessage(view: ViewerHandoffView, data: unknown, now: Date): SlackMessage {
  const sla = readSlaData(data);
  const due = sla.dueAt ?? view.slaDueAt;
  const level = sla.level ?? view.escalationLevel;
  const target = sla.escalatedTo ? ` to ${escapeMrkdwn(sla.escalatedTo.name)}` : '';
  const text =
    `:rotating_light: *Escalated${target}* (level ${level}): ${title(view)} breached its ${slaKindLabel(sla.kind)}.` +
    `\nOwner ${personText(view.owner)} · ${STATUS_LABEL[view.status]}${due ? ` · was due ${slackDate(due)} (${countdown(due, now)})` : ''}`;
  return {
    text: truncate(`Escalated: ${escapeMrkdwn(view.transitionName)} for ${escapeMrkdwn(view.account.name)} breached its SLA`, LIMITS.messageText),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) } },
      { type: 'actions', block_id: `escalation_${view.id}`, elements: reminderButtons(view) },
    ] satisfies KnownBlock[],
  };
}

/** Why a click did nothing, in words; rendered as an ephemeral message. */
export type ActionRefusal =
  | { kind: 'forbidden'; message: string }
  | { kind: 'conflict'; status: HandoffStatus | undefined; by: string | undefined; at: Date | undefined; message: string }
  /** Someone the policy does not know; `message` (from the core) says who can add them. */
  | { kind: 'unknown_user'; message: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'error'; message: string };

export function buildRefusal(r: ActionRefusal): SlackMessage {
  let text: string;
  switch (r.kind) {
    case 'forbidden':
      text = `:no_entry: ${escapeMrkdwn(r.message)}`;
      break;
    case 'conflict':
      // The core's words, with its UTC time shown in the reader's own time zone.
      text = `:information_source: ${r.at ? escapeMrkdwn(r.message).replace(escapeMrkdwn(utcMinute(r.at)), slackDate(r.at)) : escapeMrkdwn(r.message)}`;
      break;
    case 'unknown_user':
      text = `:wave: ${escapeMrkdwn(r.message)}`;
      break;
    case 'invalid':
      text = `:warning: ${escapeMrkdwn(r.message)}`;
      break;
    case 'error':
      text = `:warning: ${escapeMrkdwn(r.message)}`;
      break;
  }
  const t = truncate(text, LIMITS.sectionText);
  return { text: t, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: t } }] };
}

/** A short confirmation (e.g. after Snooze). */
export function buildNotice(text: string): SlackMessage {
  const t = truncate(escapeMrkdwn(text), LIMITS.sectionText);
  return { text: t, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: t } }] };
}
