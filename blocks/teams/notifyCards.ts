/**
 * Proactive cards sent to one person: the SLA reminder (nudge) to the owner and the escalation
 * to whoever the SLA engine escalated to. Both carry the reminder actions the recipient's
 * affordances offer (Accept, Reassign, Snooze — decided by the core) and a Details button.
 */
import type { ViewerHandoffView } from '../../src/domain/affordances.js';
import { adaptiveCard, fitCard, localDateTime, md, richText, run, textBlock, truncate, type ActionElement, type AdaptiveCard, type CardElement } from './card.js';
import { execute, offeredButtons, type HandoffCardContext } from './handoffCard.js';
import { deadlineLabel, pointLabel, readSlaData, slaKindLabel } from './format.js';

export type NotifyContext = Pick<HandoffCardContext, 'notice'>;

/** A reminder that a deadline is approaching; `data` is the SLA event's payload data. */
export function buildNudgeCard(view: ViewerHandoffView, data: unknown, ctx: NotifyContext): AdaptiveCard {
  const sla = readSlaData(data);
  const due = sla.dueAt ?? view.slaDueAt;
  const point = pointLabel(sla.point);
  const body: CardElement[] = [
    textBlock(`⏰ Reminder: handoff #${view.id} is waiting for you`, { weight: 'Bolder', size: 'Medium', style: 'heading' }),
    richText([run(view.account.name, { weight: 'Bolder' }), run(` · ${view.transitionName}`)], { spacing: 'None' }),
    textBlock(
      [point ? `${point} of ${slaKindLabel(sla.kind)} has passed.` : `${slaKindLabel(sla.kind).replace(/^the/, 'The')} deadline is approaching.`, due ? `**${deadlineLabel(view)}:** ${localDateTime(due)}` : '']
        .filter(Boolean)
        .join(' '),
    ),
  ];
  return card(view, body, ctx, `Reminder: handoff #${view.id} (${view.account.name}) is waiting for you`);
}

/** The SLA was breached and the handoff escalated to the recipient. */
export function buildEscalationCard(view: ViewerHandoffView, data: unknown, ctx: NotifyContext): AdaptiveCard {
  const sla = readSlaData(data);
  const level = sla.level ?? view.escalationLevel;
  const due = sla.dueAt ?? view.slaDueAt;
  const body: CardElement[] = [
    textBlock(`🚨 Escalation: handoff #${view.id} missed ${slaKindLabel(sla.kind)}`, { weight: 'Bolder', size: 'Medium', style: 'heading', color: 'Attention' }),
    richText([run(view.account.name, { weight: 'Bolder' }), run(` · ${view.transitionName}`)], { spacing: 'None' }),
    textBlock(
      `${md(view.owner.name)} (owner) ${view.status === 'accepted' ? 'accepted it but has not recorded a first touch' : 'has not accepted it'}${due ? ` — the deadline was ${localDateTime(due)}` : ''}. ` +
        `Escalation step ${level}${sla.escalatedTo ? `: ${md(sla.escalatedTo.name)}` : ''}.`,
    ),
    textBlock(
      view.affordances.offeredOnReminder.length
        ? view.status === 'accepted'
          ? 'Follow up with the owner, reassign it, or snooze the reminders.'
          : 'Accept it for them, reassign it, or snooze the reminders.'
        : 'The owner and their leads can act on it.',
      { isSubtle: true, spacing: 'Small' },
    ),
  ];
  return card(view, body, ctx, `Escalation: handoff #${view.id} (${view.account.name}) missed its SLA`);
}

function card(view: ViewerHandoffView, body: CardElement[], ctx: NotifyContext, fallback: string): AdaptiveCard {
  return fitCard([1], () => {
    const actions: ActionElement[] = offeredButtons(view, view.affordances.offeredOnReminder);
    actions.push(execute('Details', 'details', { handoffId: view.id }));
    const notice = ctx.notice ? [richText([run(ctx.notice.text, { weight: 'Bolder' })])] : [];
    return adaptiveCard({ fallbackText: truncate(fallback, 300), body: [...body, ...notice], actions });
  });
}
