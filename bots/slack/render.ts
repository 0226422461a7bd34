/** What the Slack builders need from the core besides the view: the playbook's words, and the affordances of the shared card. */
import type { HandoffService } from '../../src/handoffs.js';
import type { HandoffView } from '../../src/domain/view.js';
import { CHANNEL } from '../../src/domain/affordances.js';
import { withAffordances } from '../../src/access.js';
import { buildHandoffCard, type CardContext, type SlackMessage } from '../../blocks/slack/card.js';

export function cardContext(service: Pick<HandoffService, 'transition' | 'directory'>, view: HandoffView, now: Date): CardContext {
  return {
    transition: service.transition(view.transition),
    teamName: service.directory.teams.get(view.teamId)?.name,
    now,
  };
}

/**
 * The card everyone in a channel (and the owner's DM) sees: one message for all readers, so it
 * offers what the status allows for somebody, and each click is checked for whoever clicks.
 */
export function channelCard(service: HandoffService, view: HandoffView, now: Date): SlackMessage {
  return buildHandoffCard(withAffordances(service, view, CHANNEL, now), cardContext(service, view, now));
}
