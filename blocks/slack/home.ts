/**
 * The App Home tab: my open handoffs with their SLA countdown, and for team leads their teams'
 * breaches. Republished every time the tab is opened, so the countdown is fresh then.
 */
import type { HomeView, KnownBlock } from '@slack/types';
import type { HandoffView } from '../../src/domain/view.js';
import { CARD_ACTIONS, encodeSlackButtonValue } from '../actions.js';
import { LIMITS, escapeMrkdwn, plain, truncate } from './limits.js';
import { handoffLine, SLASH_COMMAND } from './commands.js';

export interface HomeContext {
  now: Date;
  /** The viewer, or undefined when their Slack account maps to nobody active in the playbook. */
  person: { name: string } | undefined;
  /** What someone Baton does not know is told (the core's stranger copy, naming who can add them). */
  stranger?: string | undefined;
  slackUserId: string;
  mine: HandoffView[];
  /** For leads: their teams' breached handoffs; undefined for everyone else. */
  breaches?: { teams: string; handoffs: HandoffView[] } | undefined;
}

/** Each handoff gets a line and a "Full packet" button; the list stops before Slack's block limit. */
function rows(handoffs: HandoffView[], now: Date, breached: (h: HandoffView) => boolean, maxBlocks: number): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  for (const [i, h] of handoffs.entries()) {
    if (blocks.length + 1 >= maxBlocks && i < handoffs.length - 1) {
      blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${handoffs.length - i} more: \`${SLASH_COMMAND} mine\` lists them all.` }] });
      break;
    }
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(handoffLine(h, now, breached(h)), LIMITS.sectionText) },
      accessory: { type: 'button', action_id: CARD_ACTIONS.details.slack, text: plain('Full packet', LIMITS.buttonText), value: encodeSlackButtonValue(h.id, h.version) },
    });
  }
  return blocks;
}

export function buildHomeView(ctx: HomeContext): HomeView {
  const blocks: KnownBlock[] = [];
  if (!ctx.person) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(`:wave: ${ctx.stranger ? escapeMrkdwn(ctx.stranger) : `You're not in the Baton playbook yet (Slack member id \`${escapeMrkdwn(ctx.slackUserId)}\`).`}`, LIMITS.sectionText),
      },
    });
    return { type: 'home', blocks };
  }
  const overdue = (h: HandoffView) => h.status === 'escalated' || (h.slaDueAt !== null && new Date(h.slaDueAt) < ctx.now);
  blocks.push({ type: 'header', text: plain(`Your handoffs, ${ctx.person.name}`, LIMITS.headerText) });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Updated <!date^${Math.floor(ctx.now.getTime() / 1000)}^{date_short_pretty} at {time}|${ctx.now.toISOString()}> · \`${SLASH_COMMAND} help\` for commands` }] });
  const breachBlocks = ctx.breaches ? 3 + Math.min(ctx.breaches.handoffs.length, 30) : 0;
  const mineBudget = LIMITS.homeBlocks - blocks.length - 1 - breachBlocks;
  if (!ctx.mine.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'You have no open handoffs. :tada:' } });
  else {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Open handoffs (${ctx.mine.length})*` } });
    blocks.push(...rows(ctx.mine, ctx.now, overdue, mineBudget - 1));
  }
  if (ctx.breaches) {
    blocks.push({ type: 'divider' });
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(`*Breached in ${escapeMrkdwn(ctx.breaches.teams)} (${ctx.breaches.handoffs.length})*`, LIMITS.sectionText) } });
    if (!ctx.breaches.handoffs.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'No breaches right now. :white_check_mark:' } });
    else blocks.push(...rows(ctx.breaches.handoffs, ctx.now, () => true, LIMITS.homeBlocks - blocks.length));
  }
  return { type: 'home', blocks };
}
