/**
 * What the bot does with each authenticated activity from Teams. Thin: parse → one core call →
 * render. Every activity is first checked for its tenant (./tenants.ts), then records its
 * conversation reference (for proactive messages).
 *  - message: a text command in a personal chat, or with an @mention elsewhere (src/commands.ts)
 *  - invoke `adaptiveCard/action`: a Universal Action from a card; answered with the new card
 *  - conversationUpdate / installationUpdate: the app was installed somewhere
 */
import { ActivityTypes, CardFactory, TurnContext, type Activity, type InvokeResponse } from 'botbuilder';
import { z } from 'zod';
import type { HandoffService } from '../../src/handoffs.js';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import type { Person } from '../../src/playbook/schema.js';
import type { UserAction } from '../../src/domain/lifecycle.js';
import { BatonError, NotFoundError } from '../../src/errors.js';
import { COMMAND_HELP, parseCommand, runCommand, type CommandReports } from '../../src/commands.js';
import { CARD_ACTIONS, teamsActionData, type CardAction } from '../../blocks/actions.js';
import { buildCommandCard, buildWelcomeCard, errorCard } from '../../blocks/teams/commandCards.js';
import type { AdaptiveCard } from '../../blocks/teams/card.js';
import type { ConversationBook } from './conversations.js';
import type { TeamsIdentity } from './identity.js';
import type { ServedTenants } from './tenants.js';
import type { TeamsViews } from './views.js';
import { safeParseUntrusted } from '../../src/untrusted.js';
import { viewerOf, type Viewer } from '../../src/domain/policy.js';
import { viewHandoff } from '../../src/access.js';

const VERBS = new Map<string, CardAction>(Object.entries(CARD_ACTIONS).map(([action, ids]) => [ids.teams, action as CardAction]));

const invokeValue = z.object({
  action: z.object({ type: z.string().optional(), verb: z.string().max(100), data: z.unknown() }),
  trigger: z.string().optional(),
});

const DONE: Record<UserAction, string> = {
  accept: 'You accepted this handoff.',
  reject: 'You rejected this handoff; the sender has been told why.',
  reassign: 'You reassigned this handoff.',
  touch: 'First touch recorded.',
  complete: 'You completed this handoff.',
  withdraw: 'You withdrew this handoff.',
  snooze: 'Reminders snoozed.',
};

export interface TeamsBotDeps {
  service: HandoffService;
  /** KPIs, timelines, digests for the `stats`, `timeline` and `digest` commands. */
  reports?: CommandReports | undefined;
  clock: Clock;
  log: Logger;
  book: ConversationBook;
  tenants: ServedTenants;
  identity: TeamsIdentity;
  views: TeamsViews;
}

export class TeamsBot {
  constructor(private readonly deps: TeamsBotDeps) {}

  async onTurn(context: TurnContext): Promise<void> {
    const a = context.activity;
    // The tenant first: an activity from a tenant not served is answered as refused and nothing
    // else happens (no identity look-up, nothing stored). See ./tenants.ts.
    const tenantId = await this.deps.tenants.admit(context, this.deps.log);
    if (!tenantId) return;
    const person = await this.deps.identity.personFor(context, tenantId);
    await this.deps.book.capture(context, tenantId, person?.id);
    switch (a.type) {
      case ActivityTypes.Message:
        return this.onMessage(context, person);
      case ActivityTypes.Invoke:
        return this.respond(context, a.name === 'adaptiveCard/action' ? await this.onCardAction(context, person) : { status: 501 });
      case ActivityTypes.ConversationUpdate:
        return this.onConversationUpdate(context, person);
      default:
        // installationUpdate and the rest: the reference captured above is all we need.
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Text commands

  private async onMessage(context: TurnContext, person: Person | undefined): Promise<void> {
    const a = context.activity;
    const personal = a.conversation?.conversationType === 'personal';
    const mentioned = TurnContext.getMentions(a).some((m) => m.mentioned?.id === a.recipient?.id);
    // messageBack clicks on our own cards carry `value`; elsewhere only @mentions are for us.
    if (!personal && !mentioned && a.value == null) return;
    // The policy says who is a person here (src/domain/policy.ts); anyone else learns only who can help.
    const viewer = viewerOf(person);
    if (viewer.kind !== 'person') {
      await this.reply(context, errorCard(this.stranger(viewer, a)));
      return;
    }
    try {
      const result = await runCommand(this.deps.service, viewer.person, parseCommand(commandText(a)), this.deps.clock.now(), this.deps.reports);
      const card = result.kind === 'show' ? await this.deps.views.details(result.handoff, person) : buildCommandCard(result);
      await this.reply(context, card);
    } catch (err) {
      this.deps.log.error({ err }, 'Teams command failed');
      await this.reply(context, errorCard(err instanceof BatonError ? err.userMessage : 'Something went wrong on our side; please try again in a moment.'));
    }
  }

  private async onConversationUpdate(context: TurnContext, person: Person | undefined): Promise<void> {
    const a = context.activity;
    const botAdded = (a.membersAdded ?? []).some((m) => m.id === a.recipient?.id);
    if (botAdded && a.conversation?.conversationType === 'personal') {
      await this.reply(context, buildWelcomeCard(person?.name.split(' ')[0], COMMAND_HELP));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Universal Actions

  private async onCardAction(context: TurnContext, person: Person | undefined): Promise<InvokeResponse> {
    const parsed = safeParseUntrusted(invokeValue, context.activity.value);
    const action = parsed.success ? VERBS.get(parsed.data.action.verb) : undefined;
    if (!parsed.success || !action) return errorResponse(400, 'This card action is not one Baton knows.');
    const data = safeParseUntrusted(teamsActionData, parsed.data.action.data);
    if (!data.success) return errorResponse(400, 'This card is missing the handoff it belongs to; ask for a fresh one with "show <id>".');
    const d = data.data;
    const { service, views } = this.deps;
    // Asked before the handoff is read, for every verb: a stranger learns nothing about it (packet,
    // account, owner), not even whether it exists, only who can add them.
    const viewer = viewerOf(person);
    if (viewer.kind !== 'person' || !service.policy.canView(viewer)) return cardResponse(errorCard(this.stranger(viewer, context.activity)));

    try {
      if (action === 'refresh') return cardResponse(await views.summary(await viewHandoff(service, viewer, d.handoffId), person));
      if (action === 'details') return cardResponse(await views.details(await viewHandoff(service, viewer, d.handoffId), person));
    } catch (err) {
      return this.failure(err, d.handoffId, person);
    }
    const userAction = action as UserAction;
    const note = userAction === 'reject' ? (d.note ?? d.rejectNote) : userAction === 'reassign' ? (d.note ?? d.reassignNote) : d.note;
    const reasonCode = d.reasonCode ?? (userAction === 'reject' ? d.rejectReason : undefined);
    const to = d.to ?? (userAction === 'reassign' ? d.reassignTo : undefined);
    try {
      await service.act(d.handoffId, {
        action: userAction,
        actor: viewer.person.id,
        ...(reasonCode ? { reasonCode } : {}),
        ...(note?.trim() ? { note } : {}),
        ...(to ? { to } : {}),
        ...(d.version ? { expectedVersion: d.version } : {}),
      });
      const view = await service.get(d.handoffId);
      return cardResponse(await views.summary(view, person, { text: DONE[userAction], tone: 'good' }));
    } catch (err) {
      return this.failure(err, d.handoffId, person);
    }
  }

  /** A refused or failed action: the current card for this person, with the reason on top. */
  private async failure(err: unknown, handoffId: number, person: Person | undefined): Promise<InvokeResponse> {
    if (!(err instanceof BatonError)) this.deps.log.error({ err, handoffId }, 'Teams card action failed');
    const message =
      err instanceof BatonError
        ? [err.userMessage, ...(err.details ?? []).map((d) => `${d.path}: ${d.message}.`)].join(' ')
        : 'Something went wrong on our side; nothing was changed. Please try again.';
    if (err instanceof NotFoundError) return cardResponse(errorCard(message));
    try {
      const view = await this.deps.service.get(handoffId);
      return cardResponse(await this.deps.views.summary(view, person, { text: message, tone: 'attention' }));
    } catch {
      return cardResponse(errorCard(message));
    }
  }

  private stranger(viewer: Viewer, a: Partial<Activity>): string {
    return this.deps.service.policy.strangerMessage(viewer, `your Teams account${a.from?.name ? ` (${a.from.name})` : ''}`);
  }

  private async respond(context: TurnContext, response: InvokeResponse): Promise<void> {
    await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: response });
  }

  private async reply(context: TurnContext, card: AdaptiveCard): Promise<void> {
    await context.sendActivity({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)], ...(card.fallbackText ? { summary: card.fallbackText } : {}) });
  }
}

function cardResponse(card: AdaptiveCard): InvokeResponse {
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } };
}

function errorResponse(statusCode: number, message: string): InvokeResponse {
  return { status: 200, body: { statusCode, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message } } };
}

/**
 * The command text: the bot's own mention removed, other people's mentions replaced by their
 * Teams id (the playbook knows people by it, so `team @Oliver` finds Oliver).
 */
export function commandText(a: Partial<Activity>): string {
  const fromCard: unknown = (a.value as { command?: unknown } | undefined)?.command;
  if (typeof fromCard === 'string') return fromCard;
  let text = a.text ?? '';
  for (const m of TurnContext.getMentions(a)) {
    if (!m.text) continue;
    text = text.replace(m.text, m.mentioned?.id === a.recipient?.id ? ' ' : ` ${m.mentioned?.id ?? ''} `);
  }
  return text.replace(/<at>[^<]*<\/at>/g, ' ').replace(/&nbsp;/g, ' ').trim();
}
