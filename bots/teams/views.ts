/**
 * Hands the Teams card builders (blocks/teams) the view as one person sees it: the core decides
 * what they may do (src/domain/affordances.ts); this adds what only Teams needs — whose Teams ids
 * get the per-user refresh. The core still enforces every rule when a click arrives.
 */
import type { HandoffService } from '../../src/handoffs.js';
import type { HandoffView } from '../../src/domain/view.js';
import type { Person } from '../../src/playbook/schema.js';
import type { Clock } from '../../src/clock.js';
import type { ViewerHandoffView } from '../../src/domain/affordances.js';
import { viewerOf } from '../../src/domain/policy.js';
import { withAffordances } from '../../src/access.js';
import { buildDetailsCard, buildHandoffCard, type HandoffCardContext } from '../../blocks/teams/handoffCard.js';
import { buildEscalationCard, buildNudgeCard } from '../../blocks/teams/notifyCards.js';
import type { AdaptiveCard } from '../../blocks/teams/card.js';
import type { Tone } from '../../blocks/teams/format.js';
import type { TeamsIdentity } from './identity.js';

export type Notice = { text: string; tone: Tone } | undefined;

export class TeamsViews {
  constructor(
    private readonly service: HandoffService,
    private readonly identity: Pick<TeamsIdentity, 'teamsUserIdOf'>,
    private readonly clock: Clock,
  ) {}

  /**
   * The view with `person`'s affordances. Teams cards are per person (a channel's card is the
   * read-only one, refreshed per user for those who may act), so no person means no buttons.
   */
  viewFor(view: HandoffView, person: Person | undefined): ViewerHandoffView {
    return withAffordances(this.service, view, viewerOf(person), this.clock.now());
  }

  async context(view: HandoffView, notice?: Notice): Promise<HandoffCardContext> {
    return { transition: this.service.transition(view.transition), refreshUserIds: await this.refreshUserIds(this.viewFor(view, undefined)), notice };
  }

  /** The card as `person` should see it (undefined: the read-only view everyone else gets). */
  async summary(view: HandoffView, person: Person | undefined, notice?: Notice): Promise<AdaptiveCard> {
    return buildHandoffCard(this.viewFor(view, person), await this.context(view, notice));
  }

  async details(view: HandoffView, _person: Person | undefined): Promise<AdaptiveCard> {
    return buildDetailsCard(view, await this.context(view));
  }

  async nudge(view: HandoffView, data: unknown, person: Person | undefined): Promise<AdaptiveCard> {
    return buildNudgeCard(this.viewFor(view, person), data, {});
  }

  async escalation(view: HandoffView, data: unknown, person: Person | undefined): Promise<AdaptiveCard> {
    return buildEscalationCard(this.viewFor(view, person), data, {});
  }

  /** Teams ids of the people who may act on the card (the core's `actorIds`; Teams refreshes for at most 60). */
  async refreshUserIds(view: ViewerHandoffView): Promise<string[]> {
    const ids: string[] = [];
    for (const id of view.affordances.actorIds) {
      const teamsId = await this.identity.teamsUserIdOf(id);
      if (teamsId) ids.push(teamsId);
    }
    return ids.slice(0, 60);
  }
}
