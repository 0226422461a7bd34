/**
 * The handoff card for Teams (Adaptive Card 1.5, Universal Actions), in two forms: the summary
 * posted to the team channel and the owner's chat, and the details view (full packet, timeline)
 * a viewer opens from it. Which buttons and choices appear is the view's affordances' (the core's)
 * call; the card only renders them. `refresh.userIds` lets Teams fetch a per-user view for the people who can act,
 * so everyone else keeps the read-only card.
 */
import type { HandoffView } from '../../src/domain/view.js';
import type { ViewerHandoffView } from '../../src/domain/affordances.js';
import type { Transition } from '../../src/playbook/schema.js';
import { CARD_ACTIONS, QUEUE_TARGET, TEAMS_INPUTS, type CardAction } from '../actions.js';
import {
  MAX_REFRESH_USERS,
  adaptiveCard,
  fitCard,
  labelled,
  localDateTime,
  md,
  richText,
  run,
  textBlock,
  truncate,
  type ActionElement,
  type AdaptiveCard,
  type CardElement,
  type Container,
  type ExecuteAction,
  type ShowCardAction,
} from './card.js';
import { STATUS_TONE, deadlineLabel, packetEntries, statusLine, type Tone } from './format.js';
import { STATUS_LABEL } from '../statusText.js';

export interface HandoffCardContext {
  /** The handoff's transition from the playbook: packet labels and reject reasons. */
  transition?: Pick<Transition, 'packet' | 'rejectReasons'> | undefined;
  /** Teams user ids (29:…) that get a per-user view through refresh; empty: no refresh. */
  refreshUserIds: readonly string[];
  /** A one-line message for this viewer, e.g. why their click was refused. */
  notice?: { text: string; tone: Tone } | undefined;
}

/** Truncation limits, from generous to tight; the first that fits the size budget wins. */
const SUMMARY_STEPS = [
  { value: 300, listItems: 5 },
  { value: 160, listItems: 3 },
  { value: 80, listItems: 2 },
  { value: 40, listItems: 1 },
] as const;

const DETAILS_STEPS = [
  { value: 10_000, listItems: 100, events: 30 },
  { value: 3000, listItems: 50, events: 20 },
  { value: 1000, listItems: 25, events: 15 },
  { value: 400, listItems: 10, events: 10 },
  { value: 150, listItems: 5, events: 5 },
] as const;

const MAX_REASSIGN_CHOICES = 100;

export function buildHandoffCard(view: ViewerHandoffView, ctx: HandoffCardContext): AdaptiveCard {
  return fitCard(SUMMARY_STEPS, (limits) =>
    adaptiveCard({
      fallbackText: fallbackText(view),
      body: opening(view, ctx, 'Packet', limits),
      actions: actionButtons(view),
      ...refresh(view, ctx),
      msteams: { width: 'Full' },
    }),
  );
}

/** The full packet and the timeline; "Back" returns to the summary (a refresh). */
export function buildDetailsCard(view: HandoffView, ctx: HandoffCardContext): AdaptiveCard {
  return fitCard(DETAILS_STEPS, (limits) =>
    adaptiveCard({
      fallbackText: fallbackText(view),
      body: [...opening(view, ctx, 'Full packet', limits), ...timeline(view, limits.events)],
      actions: [execute('Back to summary', 'refresh', { handoffId: view.id })],
      msteams: { width: 'Full' },
    }),
  );
}

export function fallbackText(view: HandoffView): string {
  return truncate(`Handoff #${view.id} ${view.transitionName}: ${view.account.name} — ${STATUS_LABEL[view.status]} (${view.owner.name})`, 300);
}

/** How both forms open: the status header, the facts, then the packet under `title`, cut to the limits that fit. */
function opening(view: HandoffView, ctx: HandoffCardContext, title: string, limits: { value: number; listItems: number }): CardElement[] {
  return [...header(view, ctx), ...facts(view), ...packetSection(view, ctx, limits.value, limits.listItems, title)];
}

function header(view: HandoffView, ctx: HandoffCardContext): CardElement[] {
  const line = statusLine(view, ctx.transition?.rejectReasons ?? []);
  const top: Container = {
    type: 'Container',
    style: containerStyle(STATUS_TONE[view.status]),
    items: [
      textBlock(`Handoff #${view.id} · ${md(view.transitionName)}`, { weight: 'Bolder', size: 'Medium', style: 'heading' }),
      richText([run(view.account.name, { weight: 'Bolder' }), ...(view.account.domain ? [run(` · ${view.account.domain}`, { isSubtle: true })] : [])], { spacing: 'None' }),
      textBlock(line.text, { spacing: 'Small' }),
      ...(line.note ? [richText([run('Note: ', { weight: 'Bolder' }), run(truncate(line.note, 500), { italic: true })], { spacing: 'None' })] : []),
    ],
  };
  const out: CardElement[] = [top];
  if (ctx.notice) {
    out.push({
      type: 'Container',
      style: containerStyle(ctx.notice.tone),
      items: [richText([run(ctx.notice.text, { weight: 'Bolder', color: textColor(ctx.notice.tone) })])],
    });
  }
  return out;
}

function facts(view: HandoffView): CardElement[] {
  const out: CardElement[] = [
    labelled('Owner', view.owner.name),
    labelled('From', view.from.name),
    // After a reassign the status line and its note already say who moved it, why and how the new
    // owner was picked (routingReason says the same since #16), so it is not said a third time.
    ...(view.status === 'reassigned' ? [] : [labelled('Why this owner', view.routingReason)]),
  ];
  if (view.slaDueAt) {
    const overdue = view.status === 'escalated';
    out.push(textBlock(`**${deadlineLabel(view)}:** ${localDateTime(view.slaDueAt)}${overdue ? ' — overdue' : ''}`, { spacing: 'Small', ...(overdue ? { color: 'Attention' as const } : {}) }));
  }
  if (view.externalId) out.push(labelled('CRM record', view.externalId));
  return out;
}

function packetSection(view: HandoffView, ctx: HandoffCardContext, valueMax: number, listMax: number, title: string): CardElement[] {
  const entries = packetEntries(view, ctx.transition);
  if (!entries.length) return [];
  const items: CardElement[] = [];
  for (const e of entries) {
    if (!e.list) {
      items.push(labelled(e.label, truncate(e.items[0] ?? '', valueMax)));
      continue;
    }
    items.push(richText([run(`${e.label}:`, { weight: 'Bolder' })], { spacing: 'Small' }));
    for (const item of e.items.slice(0, listMax)) items.push(richText([run(`• ${truncate(item, valueMax)}`)], { spacing: 'None' }));
    if (e.items.length > listMax) items.push(richText([run(`…and ${e.items.length - listMax} more (Details)`, { isSubtle: true })], { spacing: 'None' }));
  }
  return [{ type: 'Container', separator: true, spacing: 'Medium', items: [textBlock(title, { weight: 'Bolder' }), ...items] }];
}

function timeline(view: HandoffView, max: number): CardElement[] {
  const events = view.events ?? [];
  if (!events.length) return [];
  const shown = events.slice(-max);
  const items: CardElement[] = [textBlock('Timeline', { weight: 'Bolder' })];
  if (events.length > shown.length) items.push(textBlock(`(${events.length - shown.length} earlier events not shown)`, { isSubtle: true, spacing: 'None' }));
  for (const e of shown) {
    items.push(textBlock(`${localDateTime(e.at)} · **${md(e.type.replace(/_/g, ' '))}**${e.actor ? ` by ${md(e.actor.name)}` : ''}`, { spacing: 'Small', size: 'Small' }));
    const detail = [e.reasonCode ? `reason: ${e.reasonCode}` : '', e.note ? `note: ${e.note}` : ''].filter(Boolean).join(' · ');
    if (detail) items.push(richText([run(truncate(detail, 500), { isSubtle: true })], { spacing: 'None' }));
  }
  return [{ type: 'Container', separator: true, spacing: 'Medium', items }];
}

/** The viewer's offered actions, in the affordances' order, then Details. */
function actionButtons(view: ViewerHandoffView): ActionElement[] {
  const out = offeredButtons(view, view.affordances.offered);
  out.push(execute('Details', 'details', { handoffId: view.id }));
  return out;
}

/** One button (or form) per offered action: Accept, Log first touch, Complete and Snooze act at once; Reject and Reassign open a form. */
export function offeredButtons(view: ViewerHandoffView, offered: readonly string[]): ActionElement[] {
  const data = { handoffId: view.id, version: view.version };
  const out: ActionElement[] = [];
  for (const a of view.affordances.actions) {
    if (!offered.includes(a.action)) continue;
    if (a.action === 'reject') out.push(rejectCard(view));
    else if (a.action === 'reassign') out.push(reassignCard(view));
    else if (a.action === 'accept') out.push(execute(a.label, 'accept', data, 'positive'));
    else if (a.action in CARD_ACTIONS) out.push(execute(a.label, a.action as CardAction, data));
  }
  return out;
}

export function rejectCard(view: ViewerHandoffView): ShowCardAction {
  const reasons = view.affordances.rejectReasons;
  return {
    type: 'Action.ShowCard',
    title: 'Reject',
    card: {
      type: 'AdaptiveCard',
      body: [
        {
          type: 'Input.ChoiceSet',
          id: TEAMS_INPUTS.rejectReason,
          label: 'Reason',
          style: 'compact',
          isRequired: true,
          errorMessage: 'Pick a reason',
          placeholder: 'Why are you rejecting it?',
          choices: reasons.map((r) => ({ title: truncate(r.label, 100), value: r.code })),
        },
        {
          type: 'Input.Text',
          id: TEAMS_INPUTS.rejectNote,
          label: 'Note for the sender',
          isMultiline: true,
          isRequired: true,
          errorMessage: 'Say what is missing or wrong',
          placeholder: 'What is missing or wrong?',
          maxLength: 3000,
        },
      ],
      actions: [execute('Reject handoff', 'reject', { handoffId: view.id, version: view.version }, 'destructive')],
    },
  };
}

export function reassignCard(view: ViewerHandoffView): ShowCardAction {
  const { reassignCandidates, queueOffered, queueLabel } = view.affordances;
  const people = reassignCandidates.slice(0, MAX_REASSIGN_CHOICES - (queueOffered ? 1 : 0));
  return {
    type: 'Action.ShowCard',
    title: 'Reassign',
    card: {
      type: 'AdaptiveCard',
      body: [
        {
          type: 'Input.ChoiceSet',
          id: TEAMS_INPUTS.reassignTo,
          label: 'New owner',
          style: 'compact',
          isRequired: true,
          errorMessage: 'Pick a person or the queue',
          ...(queueOffered ? { value: QUEUE_TARGET } : {}),
          choices: [...(queueOffered ? [{ title: queueLabel, value: QUEUE_TARGET }] : []), ...people.map((p) => ({ title: truncate(p.name, 100), value: p.id }))],
        },
        {
          type: 'Input.Text',
          id: TEAMS_INPUTS.reassignNote,
          label: 'Reason',
          isMultiline: true,
          isRequired: true,
          errorMessage: 'Say why it moves',
          placeholder: 'Why does it move?',
          maxLength: 3000,
        },
      ],
      actions: [execute('Reassign handoff', 'reassign', { handoffId: view.id, version: view.version })],
    },
  };
}

function refresh(view: HandoffView, ctx: HandoffCardContext): Pick<AdaptiveCard, 'refresh'> {
  const userIds = [...new Set(ctx.refreshUserIds)].slice(0, MAX_REFRESH_USERS);
  if (!userIds.length) return {};
  return { refresh: { action: execute('Refresh', 'refresh', { handoffId: view.id }), userIds } };
}

export function execute(title: string, action: CardAction, data: Record<string, unknown>, style?: ExecuteAction['style']): ExecuteAction {
  return { type: 'Action.Execute', title, verb: CARD_ACTIONS[action].teams, data, ...(style ? { style } : {}) };
}

export function containerStyle(tone: Tone): Container['style'] {
  return tone === 'default' ? 'emphasis' : tone;
}

function textColor(tone: Tone): 'Default' | 'Good' | 'Warning' | 'Attention' {
  return tone === 'default' ? 'Default' : tone === 'good' ? 'Good' : tone === 'warning' ? 'Warning' : 'Attention';
}

