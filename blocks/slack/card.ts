/**
 * The handoff card: one message in the receiving team's channel and one in the owner's DM, both
 * re-rendered from the current view after every change (so nobody sees a stale Accept button).
 */
import type { KnownBlock, SectionBlock, ActionsBlock, Button } from '@slack/types';
import type { HandoffView } from '../../src/domain/view.js';
import type { ViewerHandoffView } from '../../src/domain/affordances.js';
import type { Transition } from '../../src/playbook/schema.js';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../actions.js';
import { LIMITS, escapeMrkdwn, plain, safeMrkdwn, truncate } from './limits.js';
import { STATUS_EMOJI, countdown, deadlineLabel, isOverdue, lastChange, packetEntries, personName, personText, slackDate } from './format.js';
import { STATUS_LABEL } from '../statusText.js';

export interface CardContext {
  /** The handoff's transition from the playbook (labels, field types); undefined if it was removed. */
  transition?: Pick<Transition, 'packet' | 'rejectReasons'> | undefined;
  /** Receiving team's name, for the summary. */
  teamName?: string | undefined;
  now: Date;
}

export interface SlackMessage {
  /** Notification / accessibility fallback. */
  text: string;
  blocks: KnownBlock[];
}

/** How much of a value the card shows; the Full packet modal shows everything. */
const CARD_SHORT_VALUE = 300;
const CARD_LONG_VALUE = 1000;
const LABEL_MAX = 100;

export function cardBlockId(handoffId: number, part: string): string {
  return `handoff_${handoffId}_${part}`;
}

/** Which buttons appear is the view's affordances' (the core's) call; the card only draws them. */
export function buildHandoffCard(view: ViewerHandoffView, ctx: CardContext): SlackMessage {
  const head: KnownBlock[] = [
    { type: 'header', block_id: cardBlockId(view.id, 'header'), text: plain(`${view.transitionName} · ${view.account.name}`, LIMITS.headerText) },
    summarySection(view, ctx),
    { type: 'section', block_id: cardBlockId(view.id, 'status'), text: { type: 'mrkdwn', text: truncate(statusLine(view, ctx.transition?.rejectReasons), LIMITS.sectionText) } },
    {
      type: 'context',
      block_id: cardBlockId(view.id, 'routing'),
      elements: [{ type: 'mrkdwn', text: `*Routing:* ${safeMrkdwn(view.routingReason, 2000)}` }],
    },
    { type: 'divider' },
  ];
  const tail: KnownBlock[] = [
    {
      type: 'context',
      block_id: cardBlockId(view.id, 'footer'),
      elements: [{ type: 'mrkdwn', text: `Handoff #${view.id} · created ${slackDate(view.createdAt)}${view.externalId ? ` · CRM ${safeMrkdwn(view.externalId, 200)}` : ''}` }],
    },
  ];
  const actions = actionsBlock(view);
  if (actions) tail.push(actions);

  const budget = LIMITS.messageBlocks - head.length - tail.length;
  const packet = packetBlocks(view, ctx, budget);
  return { text: cardText(view), blocks: [...head, ...packet, ...tail] };
}

/** The notification text (and what screen readers and old clients show). */
export function cardText(view: HandoffView): string {
  return truncate(`${escapeMrkdwn(view.transitionName)}: ${escapeMrkdwn(view.account.name)} for ${escapeMrkdwn(personName(view.owner))} (${STATUS_LABEL[view.status].toLowerCase()})`, LIMITS.messageText);
}

function summarySection(view: HandoffView, ctx: CardContext): SectionBlock {
  const account = [escapeMrkdwn(view.account.name), view.account.domain ? escapeMrkdwn(view.account.domain) : null, view.account.crmId ? `CRM ${escapeMrkdwn(view.account.crmId)}` : null]
    .filter(Boolean)
    .join(' · ');
  const fields = [
    `*Owner*\n${personText(view.owner)}${ctx.teamName ? ` (${escapeMrkdwn(ctx.teamName)})` : ''}`,
    `*From*\n${personText(view.from)}`,
    `*Status*\n${STATUS_EMOJI[view.status]} ${STATUS_LABEL[view.status]}${view.escalationLevel > 0 ? ` (level ${view.escalationLevel})` : ''}`,
    // No countdown on the card: it is redrawn on changes only, so "in 1h" would go stale.
    view.slaDueAt ? `*${deadlineLabel(view)}*\n${slaText(view.slaDueAt, ctx.now, false)}` : `*SLA*\n${view.closedAt ? 'closed' : view.firstTouchAt ? `first touch ${slackDate(view.firstTouchAt)}` : '—'}`,
    `*Account*\n${account}`,
  ];
  return {
    type: 'section',
    block_id: cardBlockId(view.id, 'summary'),
    fields: fields.map((t) => ({ type: 'mrkdwn' as const, text: truncate(t, LIMITS.sectionFieldText) })),
  };
}

/** Deadline as a date token plus a countdown; a breached one is flagged. */
export function slaText(dueAt: string, now: Date, withCountdown = true): string {
  return `${isOverdue(dueAt, now) ? ':warning: ' : ''}${slackDate(dueAt)}${withCountdown ? ` (${countdown(dueAt, now)})` : ''}`;
}

/** Who did what, when: from the event that produced the current version. */
export function statusLine(view: HandoffView, reasons: readonly { code: string; label: string }[] = []): string {
  const change = lastChange(view);
  const who = change?.actor ? personText(change.actor) : 'Baton';
  const when = change ? ` · ${slackDate(change.at)}` : '';
  const owner = personText(view.owner);
  const emoji = STATUS_EMOJI[view.status];
  switch (view.status) {
    case 'routed':
    case 'posted':
      return `${emoji} Waiting for ${owner} to accept${when}`;
    case 'reassigned':
      return `${emoji} *Reassigned* to ${owner} by ${who}${when}${change?.note ? `\n> ${safeMrkdwn(change.note, 500)}` : ''}`;
    case 'escalated':
      return `${emoji} *Escalated* (level ${view.escalationLevel})${when} · waiting for ${owner} to accept`;
    case 'accepted':
      return `${emoji} *Accepted* by ${who}${when}${view.firstTouchAt ? ` · first touch ${slackDate(view.firstTouchAt)}` : ''}`;
    case 'rejected': {
      const reason = change?.reasonCode ? ` · ${escapeMrkdwn(reasonLabel(change.reasonCode, reasons))}` : '';
      return `${emoji} *Rejected* by ${who}${when}${reason}${change?.note ? `\n> ${safeMrkdwn(change.note, 500)}` : ''}`;
    }
    case 'completed':
      return `${emoji} *Completed* by ${who}${when}`;
    case 'withdrawn':
      return `${emoji} *Withdrawn* by ${who}${when}${change?.note ? `\n> ${safeMrkdwn(change.note, 500)}` : ''}`;
  }
}

/**
 * Packet fields within `budget` blocks: short values share 10-field grids, long values get their
 * own section. Whatever does not fit is named in a context block pointing at Full packet.
 */
function packetBlocks(view: HandoffView, ctx: CardContext, budget: number): KnownBlock[] {
  const entries = packetEntries(view, ctx.transition);
  const blocks: KnownBlock[] = [];
  let grid: string[] = [];
  let shown = 0;
  let i = 0;
  const reserve = 1; // room for the "more fields" note
  const flushGrid = () => {
    if (!grid.length) return;
    blocks.push({ type: 'section', fields: grid.map((t) => ({ type: 'mrkdwn' as const, text: t })) });
    grid = [];
  };
  for (; i < entries.length; i++) {
    const e = entries[i]!;
    const label = `*${safeMrkdwn(e.label, LABEL_MAX)}*`;
    if (e.long) {
      const needed = grid.length ? 2 : 1;
      if (blocks.length + needed > budget - reserve) break;
      flushGrid();
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${label}\n${safeMrkdwn(e.text, CARD_LONG_VALUE)}` } });
    } else {
      if (!grid.length && blocks.length + 1 > budget - reserve) break;
      grid.push(truncate(`${label}\n${safeMrkdwn(e.text, CARD_SHORT_VALUE)}`, LIMITS.sectionFieldText));
      if (grid.length === LIMITS.sectionFields) flushGrid();
    }
    shown++;
  }
  flushGrid();
  const hidden = entries.length - shown;
  if (hidden > 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${hidden} more field${hidden === 1 ? '' : 's'}: open *Full packet* to see everything.` }],
    });
  }
  return blocks;
}

/** The buttons the affordances offer, in their order, then Full packet; none once nothing is offered. */
function actionsBlock(view: ViewerHandoffView): ActionsBlock | undefined {
  const value = encodeSlackButtonValue(view.id, view.version);
  const buttons: Button[] = [];
  for (const a of view.affordances.actions) {
    if (!view.affordances.offered.includes(a.action)) continue;
    const cardAction = CARD_ACTIONS[a.action as keyof typeof CARD_ACTIONS];
    if (!cardAction) continue;
    const b: Button = { type: 'button', action_id: cardAction.slack, text: plain(a.label, LIMITS.buttonText), value };
    if (a.action === 'accept') b.style = 'primary';
    buttons.push(b);
  }
  if (!buttons.length) return undefined;
  buttons.push({ type: 'button', action_id: CARD_ACTIONS.details.slack, text: plain('Full packet', LIMITS.buttonText), value });
  return { type: 'actions', block_id: cardBlockId(view.id, 'actions'), elements: buttons };
}

export function reasonLabel(code: string, reasons: readonly { code: string; label: string }[]): string {
  return reasons.find((r) => r.code === code)?.label ?? code;
}
