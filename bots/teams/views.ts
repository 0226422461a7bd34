/**
 * Chooses what each viewer sees and hands the card builders (blocks/teams) their context: the
 * actions this person may take now, who gets the per-user refresh, who the handoff can be
 * reassigned to. The core still enforces every rule when a click arrives; this only decides
 * which buttons to draw.
 */
import type { HandoffService } from '../../src/handoffs.js';
import type { HandoffView } from '../../src/domain/view.js';
import { LIFECYCLE } from '../../src/domain/lifecycle.js';
import type { Person } from '../../src/playbook/schema.js';
import { buildDetailsCard, buildHandoffCard, type HandoffCardAction, type HandoffCardContext } from '../../blocks/teams/handoffCard.js';
import { buildEscalationCard, buildNudgeCard } from '../../blocks/teams/notifyCards.js';
import type { AdaptiveCard } from '../../blocks/teams/card.js';
import type { Tone } from '../../blocks/teams/format.js';
import type { TeamsIdentity } from './identity.js';
import { viewerOf } from '../../src/domain/policy.js';

const CARD_ACTIONS: readonly HandoffCardAction[] = ['accept', 'reject', 'reassign', 'touch', 'complete'];
const NOTIFY_ACTIONS: readonly HandoffCardAction[] = ['accept', 'reassign', 'snooze'];

export type Notice = { text: string; tone: Tone } | undefined;

export class TeamsViews {
  constructor(
    private readonly service: HandoffService,
    private readonly identity: Pick<TeamsIdentity, 'teamsUserIdOf'>,
  ) {}

  /** The buttons for `person`: the actions the policy lets them take that apply in this status. */
  actionsFor(view: HandoffView, person: Person | undefined, offered: readonly HandoffCardAction[] = CARD_ACTIONS): HandoffCardAction[] {
    const viewer = viewerOf(person);
    return offered.filter((a) => this.service.policy.mayAct(viewer, view, a) && LIFECYCLE[a].from.includes(view.status) && !(a === 'touch' && view.firstTouchAt));
  }

  async context(view: HandoffView, person: Person | undefined, notice?: Notice, offered?: readonly HandoffCardAction[]): Promise<HandoffCardContext> {
    return {
      transition: this.service.transition(view.transition),
      actions: this.actionsFor(view, person, offered),
      refreshUserIds: await this.refreshUserIds(view),
      reassignTo: this.reassignTo(view),
      notice,
    };
  }

  /** The card as `person` should see it (undefined: the read-only view everyone else gets). */
  async summary(view: HandoffView, person: Person | undefined, notice?: Notice): Promise<AdaptiveCard> {
    return buildHandoffCard(view, await this.context(view, person, notice));
  }

  async details(view: HandoffView, person: Person | undefined): Promise<AdaptiveCard> {
    return buildDetailsCard(view, await this.context(view, person));
  }

  async nudge(view: HandoffView, data: unknown, person: Person | undefined): Promise<AdaptiveCard> {
    return buildNudgeCard(view, data, await this.context(view, person, undefined, NOTIFY_ACTIONS));
  }

  async escalation(view: HandoffView, data: unknown, person: Person | undefined): Promise<AdaptiveCard> {
    return buildEscalationCard(view, data, await this.context(view, person, undefined, NOTIFY_ACTIONS));
  }

  /** Teams ids of the owner, their leads and the admins (Teams refreshes for at most 60). */
  async refreshUserIds(view: HandoffView): Promise<string[]> {
    const d = this.service.directory;
    const people = [view.owner.id, ...d.leadsOf(view.owner.id), ...d.playbook.admins];
    const ids: string[] = [];
    for (const id of new Set(people)) {
      const teamsId = await this.identity.teamsUserIdOf(id);
      if (teamsId) ids.push(teamsId);
    }
    return ids.slice(0, 60);
  }

  /** Active people of the receiving team and its lead, the owner left out, by name. */
  reassignTo(view: HandoffView): { id: string; name: string }[] {
    const d = this.service.directory;
    const team = d.teams.get(view.teamId);
    return this.service.playbook.people
      .filter((p) => p.active && p.id !== view.owner.id && (p.teamId === view.teamId || p.id === team?.leadId))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => ({ id: p.id, name: p.name }));
  }
}
