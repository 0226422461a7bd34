/** What the Slack builders need from the core besides the view: the playbook's words and the lifecycle's options. */
import type { HandoffService } from '../../src/handoffs.js';
import type { HandoffView } from '../../src/domain/view.js';
import { LIFECYCLE, type HandoffStatus, type UserAction } from '../../src/domain/lifecycle.js';
import type { CardContext } from '../../blocks/slack/card.js';

/** Actions a card offers: what the lifecycle allows now, minus the sender's withdraw and the reminder's snooze. */
const CARD_ACTIONS_ORDER: readonly UserAction[] = ['accept', 'reject', 'reassign', 'touch', 'complete'];

export function availableActions(status: HandoffStatus): UserAction[] {
  return CARD_ACTIONS_ORDER.filter((a) => LIFECYCLE[a].from.includes(status));
}

export function cardContext(service: HandoffService, view: HandoffView, now: Date): CardContext {
  return {
    transition: service.transition(view.transition),
    teamName: service.directory.teams.get(view.teamId)?.name,
    actions: availableActions(view.status),
    now,
  };
}
