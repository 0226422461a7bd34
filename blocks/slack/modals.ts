/**
 * Modals opened from the card: Reject (reason from the transition's taxonomy + required note),
 * Reassign (a playbook person or the next in the queue + reason) and Full packet (every field in
 * full and the timeline). Opened with the click's trigger id, so they must be built without I/O.
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { HandoffEventView, HandoffView } from '../../src/domain/view.js';
import type { ViewerHandoffView } from '../../src/domain/affordances.js';
import type { Transition } from '../../src/playbook/schema.js';
import { QUEUE_TARGET, SLACK_VIEWS, type SlackModalMetadata } from '../actions.js';
import { LIMITS, chunk, escapeMrkdwn, plain, safeMrkdwn, truncate } from './limits.js';
import { packetEntries, personText, pointLabel, readSlaData, slackDate, slaKindLabel } from './format.js';
import { STATUS_LABEL } from '../statusText.js';
import { reasonLabel, slaText } from './card.js';

/** Block and action ids of the modal inputs (what the submission handler reads). */
export const MODAL_INPUTS = {
  rejectReason: { block: 'reject_reason', action: 'reason' },
  rejectNote: { block: 'reject_note', action: 'note' },
  reassignTo: { block: 'reassign_to', action: 'to' },
  reassignNote: { block: 'reassign_note', action: 'note' },
} as const;

/** The core accepts notes up to 3000 characters. */
export const NOTE_MAX = 3000;

function metadata(view: HandoffView, channelId: string | undefined): string {
  const m: SlackModalMetadata = { handoffId: view.id, version: view.version, ...(channelId ? { channelId } : {}) };
  return JSON.stringify(m);
}

function summary(view: HandoffView): KnownBlock {
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: truncate(`*${safeMrkdwn(view.transitionName, 200)} · ${safeMrkdwn(view.account.name, 300)}* (#${view.id})\nOwner ${personText(view.owner)} · from ${personText(view.from)}`, LIMITS.sectionText),
    },
  };
}

function option(text: string, value: string): PlainTextOption {
  return { text: plain(text, LIMITS.optionText), value: truncate(value, LIMITS.optionValue) };
}

export function buildRejectModal(view: HandoffView, ctx: { reasons: readonly { code: string; label: string }[]; channelId?: string | undefined }): ModalView {
  const reasons = ctx.reasons.slice(0, LIMITS.options);
  return {
    type: 'modal',
    callback_id: SLACK_VIEWS.reject,
    private_metadata: metadata(view, ctx.channelId),
    title: plain('Reject handoff', LIMITS.modalTitle),
    submit: plain('Reject', LIMITS.modalSubmit),
    close: plain('Cancel', LIMITS.modalClose),
    blocks: [
      summary(view),
      {
        type: 'input',
        block_id: MODAL_INPUTS.rejectReason.block,
        label: plain('Reason', 2000),
        element: {
          type: 'static_select',
          action_id: MODAL_INPUTS.rejectReason.action,
          placeholder: plain('Why are you rejecting it?', LIMITS.placeholder),
          options: reasons.map((r) => option(r.label, r.code)),
        },
      },
      {
        type: 'input',
        block_id: MODAL_INPUTS.rejectNote.block,
        label: plain('Note for the sender', 2000),
        hint: plain('Say what is missing or wrong, so the sender can fix it.', 2000),
        element: { type: 'plain_text_input', action_id: MODAL_INPUTS.rejectNote.action, multiline: true, min_length: 1, max_length: NOTE_MAX },
      },
    ] satisfies KnownBlock[],
  } satisfies ModalView;
}

/** The choices are the core's (the view's affordances): the one reassign rule every platform shows. */
export function buildReassignModal(view: ViewerHandoffView, ctx: { channelId?: string | undefined }): ModalView {
  const { reassignCandidates, queueOffered, queueLabel } = view.affordances;
  // One option may be the queue; Slack allows 100 in all.
  const people = reassignCandidates.slice(0, LIMITS.options - (queueOffered ? 1 : 0));
  return {
    type: 'modal',
    callback_id: SLACK_VIEWS.reassign,
    private_metadata: metadata(view, ctx.channelId),
    title: plain('Reassign handoff', LIMITS.modalTitle),
    submit: plain('Reassign', LIMITS.modalSubmit),
    close: plain('Cancel', LIMITS.modalClose),
    blocks: [
      summary(view),
      {
        type: 'input',
        block_id: MODAL_INPUTS.reassignTo.block,
        label: plain('Give it to', 2000),
        element: {
          type: 'static_select',
          action_id: MODAL_INPUTS.reassignTo.action,
          placeholder: plain(queueOffered ? 'A person, or the next in the queue' : 'A person', LIMITS.placeholder),
          options: [...(queueOffered ? [option(queueLabel, QUEUE_TARGET)] : []), ...people.map((p) => option(p.teamName ? `${p.name} (${p.teamName})` : p.name, p.id))],
        },
      },
      {
        type: 'input',
        block_id: MODAL_INPUTS.reassignNote.block,
        label: plain('Reason', 2000),
        element: { type: 'plain_text_input', action_id: MODAL_INPUTS.reassignNote.action, multiline: true, min_length: 1, max_length: NOTE_MAX },
      },
    ] satisfies KnownBlock[],
  } satisfies ModalView;
}

/** Every packet field in full (split over several sections when longer than Slack's 3000) and the timeline. */
export function buildDetailsModal(view: HandoffView, ctx: { transition?: Pick<Transition, 'packet' | 'rejectReasons'> | undefined; now: Date }): ModalView {
  return {
    type: 'modal',
    callback_id: SLACK_VIEWS.details,
    private_metadata: JSON.stringify({ handoffId: view.id, version: view.version } satisfies SlackModalMetadata),
    title: plain(`Handoff #${view.id}`, LIMITS.modalTitle),
    close: plain('Close', LIMITS.modalClose),
    blocks: detailBlocks(view, ctx, LIMITS.modalBlocks),
  } satisfies ModalView;
}

/**
 * The full picture of one handoff within `maxBlocks` (100 in a modal, 50 in a message). When
 * it does not all fit, the last block says so rather than Slack refusing the whole view.
 */
export function detailBlocks(view: HandoffView, ctx: { transition?: Pick<Transition, 'packet' | 'rejectReasons'> | undefined; now: Date }, maxBlocks: number): KnownBlock[] {
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(`${view.transitionName} · ${view.account.name}`, LIMITS.headerText) },
    {
      type: 'section',
      fields: [
        `*Status*\n${STATUS_LABEL[view.status]}${view.escalationLevel > 0 ? ` (escalation level ${view.escalationLevel})` : ''}`,
        `*Owner*\n${personText(view.owner)}`,
        `*From*\n${personText(view.from)}`,
        `*Account*\n${[escapeMrkdwn(view.account.name), view.account.domain ? escapeMrkdwn(view.account.domain) : null, view.account.crmId ? `CRM ${escapeMrkdwn(view.account.crmId)}` : null].filter(Boolean).join(' · ')}`,
        `*Created*\n${slackDate(view.createdAt)}`,
        view.slaDueAt ? `*${view.status === 'accepted' ? 'First touch due' : 'Accept by'}*\n${slaText(view.slaDueAt, ctx.now)}` : `*Closed*\n${view.closedAt ? slackDate(view.closedAt) : '—'}`,
      ].map((t) => ({ type: 'mrkdwn' as const, text: truncate(t, LIMITS.sectionFieldText) })),
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `*Routing:* ${safeMrkdwn(view.routingReason, 2000)}` }] },
    { type: 'divider' },
  ];
  const body: KnownBlock[] = [];
  for (const e of packetEntries(view, ctx.transition)) {
    const pieces = chunk(escapeMrkdwn(e.text), LIMITS.sectionText - 120);
    pieces.forEach((piece, i) => {
      const label = i === 0 ? `*${safeMrkdwn(e.label, 100)}*\n` : `*${safeMrkdwn(e.label, 100)}* (continued)\n`;
      body.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(label + piece, LIMITS.sectionText) } });
    });
  }
  const timeline = (view.events ?? []).map((e) => timelineLine(e, ctx.transition?.rejectReasons ?? []));
  if (timeline.length) {
    body.push({ type: 'divider' });
    body.push({ type: 'section', text: { type: 'mrkdwn', text: '*Timeline*' } });
    // Join lines into as few sections as fit, so a long history costs few blocks.
    let current = '';
    for (const line of timeline) {
      const l = truncate(line, LIMITS.sectionText);
      if (current && current.length + 1 + l.length > LIMITS.sectionText) {
        body.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
        current = '';
      }
      current = current ? `${current}\n${l}` : l;
    }
    if (current) body.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
  }
  const room = maxBlocks - blocks.length;
  if (body.length <= room) return [...blocks, ...body];
  const kept = body.slice(0, room - 1);
  kept.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…${body.length - kept.length} more sections did not fit in Slack. The full record is at GET /api/handoffs/${view.id}.` }] });
  return [...blocks, ...kept];
}

const EVENT_WORDS: Record<string, string> = {
  received: 'Received',
  routed: 'Routed',
  posted: 'Posted',
  accepted: 'Accepted',
  rejected: 'Rejected',
  reassigned: 'Reassigned',
  escalated: 'Escalated',
  nudged: 'Reminder sent',
  snoozed: 'Snoozed',
  first_touch: 'First touch logged',
  completed: 'Completed',
  withdrawn: 'Withdrawn',
};

/** One audit event as a line: "• date · Accepted by @dana · reason — note". */
export function timelineLine(e: HandoffEventView, reasons: readonly { code: string; label: string }[]): string {
  const parts: string[] = [`• ${slackDate(e.at)} · *${EVENT_WORDS[e.type] ?? escapeMrkdwn(e.type)}*`];
  if (e.actor) parts.push(`by ${personText(e.actor)}`);
  if ((e.type === 'routed' || e.type === 'reassigned') && e.owner) parts.push(`to ${personText(e.owner)}`);
  const sla = readSlaData(e.data);
  if (e.type === 'escalated' && sla.escalatedTo) parts.push(`to ${escapeMrkdwn(sla.escalatedTo.name)}`);
  if (e.type === 'nudged' && (sla.point || sla.kind)) parts.push(`(${[pointLabel(sla.point), slaKindLabel(sla.kind)].filter(Boolean).join(' of ')})`);
  let line = parts.join(' ');
  if (e.reasonCode) line += ` · ${escapeMrkdwn(reasonLabel(e.reasonCode, reasons))}`;
  const reason = typeof (e.data as { reason?: unknown } | null)?.reason === 'string' ? (e.data as { reason: string }).reason : undefined;
  if (reason && e.type === 'routed') line += ` · ${safeMrkdwn(reason, 300)}`;
  if (e.note) line += ` — ${safeMrkdwn(e.note, 1500)}`;
  return line;
}
