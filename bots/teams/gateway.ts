/**
 * The Teams gateway: an outbox consumer that keeps every Teams card of a handoff in step with it.
 *  - routed / reassigned: post the card to the receiving team's channel and to the owner's
 *    personal chat (once each: the location is recorded before the post and its message id
 *    after, so a retry never posts twice), then mark the handoff posted
 *  - every change of state: re-render each recorded card in place (updateActivity)
 *  - nudged: a reminder in the owner's chat; escalated: the escalation in the team channel and
 *    in the chat of the person escalated to (recorded per event, so each is sent once)
 * Failures are classified per card (errors.ts) and the delivery retried as a whole; cards
 * already posted are only updated on the retry.
 */
import { CardFactory, type Attachment, type CloudAdapter, type ConversationParameters } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import { HANDOFF_EVENT_TYPES, type OutboxConsumer, type OutboxEvent } from '../../src/events.js';
import { TeamLanes } from '../../src/teamLanes.js';
import type { HandoffService } from '../../src/handoffs.js';
import type { HandoffView } from '../../src/domain/view.js';
import type { PlatformStore, CardLocation } from '../../src/platformStore.js';
import type { Logger } from '../../src/logger.js';
import type { Person } from '../../src/playbook/schema.js';
import { NotFoundError } from '../../src/errors.js';
import { NonRetriableError, RetryAfterError } from '../../src/retry.js';
import type { AdaptiveCard } from '../../blocks/teams/card.js';
import { readSlaData } from '../../blocks/teams/format.js';
import { PLATFORM, type ConversationBook, type Reference } from './conversations.js';
import type { TeamsIdentity } from './identity.js';
import type { TeamsViews } from './views.js';
import { classifyTeamsError, connectorErrorOf } from './errors.js';

export interface TeamsGatewayDeps {
  adapter: CloudAdapter;
  appId: string;
  /** OAuth scope for outbound calls (ToChannelFromBotOAuthScope). */
  audience: string;
  service: HandoffService;
  store: PlatformStore;
  book: ConversationBook;
  identity: TeamsIdentity;
  views: TeamsViews;
  log: Logger;
}

const POSTING_EVENTS = new Set(['handoff.routed', 'handoff.reassigned']);
const NOT_INSTALLED_RECHECK_MS = 60 * 60_000;
/** Events that change nothing on the card: a snooze, and `posted` (it keeps the version). */
const SILENT_EVENTS: ReadonlySet<string> = new Set(['handoff.snoozed', 'handoff.posted']);

export class TeamsGateway implements OutboxConsumer {
  readonly name = 'teams';
  /** personId → until when not to try opening a chat again (Teams said the app is not installed). */
  private readonly notInstalled = new Map<string, number>();

  constructor(private readonly deps: TeamsGatewayDeps) {}

  readonly subscribes = HANDOFF_EVENT_TYPES.filter((t) => !SILENT_EVENTS.has(t));

  /** One delivery lane per team (its channel): src/teamLanes.ts. */
  private readonly lanes = new TeamLanes(async (id) => (await this.deps.service.get(id, { events: false })).teamId);
  laneOf(event: OutboxEvent): Promise<string> {
    return this.lanes.laneOf(event);
  }

  async handle(event: OutboxEvent, attempt: number): Promise<void> {
    if (event.handoffId === null) return;
    let view: HandoffView;
    try {
      view = await this.deps.service.get(event.handoffId);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    const log = this.deps.log.child({ handoffId: view.id, event: event.type, eventId: event.id, attempt });
    const outcome = new Outcome(log);
    const postedNow = new Set<string>();

    if (POSTING_EVENTS.has(event.type)) await this.ensurePosted(view, outcome, postedNow, log);
    if (event.type !== 'handoff.nudged') await this.updateAll(view, outcome, postedNow, log);

    const data = event.payload.data;
    const notice = `notice:${event.id}`;
    if (event.type === 'handoff.nudged') {
      await outcome.run('reminding the owner', () => this.notify(view.owner.id, view, 'nudge', data, notice, log));
    }
    if (event.type === 'handoff.escalated') {
      const channelId = this.deps.service.directory.teams.get(view.teamId)?.channels.teams;
      if (channelId) {
        await outcome.run(`posting the escalation in channel ${channelId}`, async () => {
          const ref = await this.deps.book.channel(channelId);
          if (ref) await this.postOnce(view.id, notice, ref, await this.deps.views.escalation(view, data, undefined));
        });
      }
      const to = readSlaData(data).escalatedTo?.id;
      if (to) await outcome.run('telling the person escalated to', () => this.notify(to, view, 'escalation', data, notice, log));
    }
    if (event.type === 'handoff.routed') {
      const cards = await this.deps.store.cards(view.id, PLATFORM);
      if (cards.some((c) => c.messageId)) await this.deps.service.markPosted(view.id, PLATFORM);
    }
    outcome.throwIfFailed();
  }

  // -------------------------------------------------------------------------------------------

  private async ensurePosted(view: HandoffView, outcome: Outcome, postedNow: Set<string>, log: Logger): Promise<void> {
    const { service, book, views, store } = this.deps;
    const existing = await store.cards(view.id, PLATFORM);
    const channelId = service.directory.teams.get(view.teamId)?.channels.teams;
    if (channelId) {
      await outcome.run(`posting to channel ${channelId}`, async () => {
        if (existing.find((c) => c.kind === 'channel' && c.conversationId === channelId)?.messageId) return;
        const ref = await book.channel(channelId);
        if (!ref) {
          log.warn({ channelId }, 'cannot post to the Teams channel: Baton has not heard from Teams yet (install the app in the team, then it can post)');
          return;
        }
        await this.postOnce(view.id, 'channel', ref, await views.summary(view, undefined));
        postedNow.add(locationKey('channel', channelId));
      });
    }
    const owner = service.directory.byId.get(view.owner.id);
    if (!owner) return;
    await outcome.run(`posting to ${owner.name}'s chat`, async () => {
      const ref = await this.personalChat(owner);
      if (!ref) {
        log.info({ personId: owner.id }, `${owner.name} has not installed the Baton app in Teams yet: the card is in the team channel only`);
        return;
      }
      if (existing.find((c) => c.kind === 'dm' && c.conversationId === ref.conversation.id)?.messageId) return;
      await this.postOnce(view.id, 'dm', ref, await views.summary(view, owner));
      postedNow.add(locationKey('dm', ref.conversation.id));
    });
  }

  private async updateAll(view: HandoffView, outcome: Outcome, skip: Set<string>, log: Logger): Promise<void> {
    const { service, book, views, store } = this.deps;
    // Only the handoff cards follow the state; reminders and escalation notices stay as sent.
    const locations = (await store.cards(view.id, PLATFORM)).filter(
      (c): c is CardLocation & { messageId: string } => (c.kind === 'channel' || c.kind === 'dm') && c.messageId !== null && !skip.has(locationKey(c.kind, c.conversationId)),
    );
    if (!locations.length) return;
    const owner = service.directory.byId.get(view.owner.id);
    const ownerChat = owner ? await book.personal(owner.id) : undefined;
    for (const loc of locations) {
      await outcome.run(`updating the ${loc.kind} card`, async () => {
        const ownersChat = loc.kind === 'dm' && ownerChat?.conversation.id === loc.conversationId;
        const ref = loc.kind === 'channel' ? threadOf(await book.channel(loc.conversationId), loc.messageId) : ownersChat ? ownerChat : await this.chatById(loc.conversationId);
        if (!ref) {
          log.warn({ conversationId: loc.conversationId }, 'cannot update a Teams card: no service URL known');
          return;
        }
        // A previous owner's chat gets the read-only view; the current owner's keeps the buttons.
        await this.update(ref, loc.messageId, await views.summary(view, ownersChat ? owner : undefined));
      });
    }
  }

  private async notify(personId: string, view: HandoffView, kind: 'nudge' | 'escalation', data: unknown, notice: string, log: Logger): Promise<void> {
    const person = this.deps.service.directory.byId.get(personId);
    if (!person) return;
    const ref = await this.personalChat(person);
    if (!ref) {
      log.info({ personId }, `${person.name} has not installed the Baton app in Teams yet: no ${kind} sent there`);
      return;
    }
    const card = kind === 'nudge' ? await this.deps.views.nudge(view, data, person) : await this.deps.views.escalation(view, data, person);
    await this.postOnce(view.id, notice, ref, card);
  }

  /**
   * Posts once per (handoff, kind, conversation): the location is recorded before the post and
   * its message id after, so a retry finds it and does not post again. A location without a
   * message id means the earlier attempt failed (the connector refused it, or the process died
   * mid-call); Teams has no idempotency key and bots cannot read chat history, so it is posted
   * again — the only window where a duplicate is possible.
   */
  private async postOnce(handoffId: number, kind: string, ref: Reference, card: AdaptiveCard): Promise<void> {
    const loc = { handoffId, platform: PLATFORM, kind, conversationId: ref.conversation.id };
    const existing = (await this.deps.store.cards(handoffId, PLATFORM)).find((c) => c.kind === kind && c.conversationId === loc.conversationId);
    if (existing?.messageId) return;
    if (!existing) await this.deps.store.saveCard({ ...loc, messageId: null });
    const messageId = await this.send(ref, card);
    await this.deps.store.saveCard({ ...loc, messageId });
  }

  /**
   * A new message in the conversation. Through the connector client rather than
   * `context.sendActivity`, which would send it as a reply to the synthetic continuation
   * activity; in a channel, a new top-level post is what we want.
   */
  /**
   * A proactive message in a person's personal chat (digests, reviews). Returns the message id,
   * or undefined when the person cannot be reached on Teams yet (no chat and none can be opened).
   */
  async sendToPerson(personId: string, attachments: Attachment[], summary?: string): Promise<string | undefined> {
    const person = this.deps.service.directory.byId.get(personId);
    if (!person) return undefined;
    const ref = await this.personalChat(person);
    if (!ref) return undefined;
    let id: string | undefined;
    await this.deps.adapter.continueConversationAsync(this.deps.appId, ref, async (ctx) => {
      const connector = ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey);
      const activity = { type: 'message' as const, attachments, ...(summary ? { summary } : {}), from: ctx.activity.recipient, conversation: ref.conversation, channelId: 'msteams', serviceUrl: ref.serviceUrl };
      id = (await connector.conversations.sendToConversation(ref.conversation.id, activity)).id;
    });
    return id;
  }

  private async send(ref: Reference, card: AdaptiveCard): Promise<string> {
    let id: string | undefined;
    await this.deps.adapter.continueConversationAsync(this.deps.appId, ref, async (ctx) => {
      const connector = ctx.turnState.get<ConnectorClient>(ctx.adapter.ConnectorClientKey);
      const activity = { ...message(card), from: ctx.activity.recipient, conversation: ref.conversation, channelId: 'msteams', serviceUrl: ref.serviceUrl };
      id = (await connector.conversations.sendToConversation(ref.conversation.id, activity)).id;
    });
    if (!id) throw new NonRetriableError('Teams accepted the message but returned no id');
    return id;
  }

  private async update(ref: Reference, messageId: string, card: AdaptiveCard): Promise<void> {
    await this.deps.adapter.continueConversationAsync(this.deps.appId, ref, async (ctx) => {
      await ctx.updateActivity({ ...message(card), id: messageId });
    });
  }

  /**
   * The person's personal chat: stored when they installed the app or wrote to the bot; else,
   * when their Teams id and a service URL are known, created now. Teams refuses that (403/404)
   * while the app is not installed for them: that is "not installed yet", not a failure, and is
   * not asked again for an hour.
   */
  private async personalChat(person: Person): Promise<Reference | undefined> {
    const { book, identity, adapter, appId, audience } = this.deps;
    const stored = await book.personal(person.id);
    if (stored) return stored;
    if ((this.notInstalled.get(person.id) ?? 0) > Date.now()) return undefined;
    const teamsUserId = await identity.teamsUserIdOf(person.id);
    const service = await book.service();
    if (!teamsUserId || !service) return undefined;
    const params = {
      isGroup: false,
      bot: { id: service.botId, name: 'Baton' },
      members: [{ id: teamsUserId, name: person.name }],
      ...(service.tenantId ? { tenantId: service.tenantId, channelData: { tenant: { id: service.tenantId } } } : {}),
    } as ConversationParameters;
    let conversationId: string | undefined;
    try {
      await adapter.createConversationAsync(appId, 'msteams', service.serviceUrl, audience, params, async (ctx) => {
        conversationId = ctx.activity.conversation?.id;
      });
    } catch (err) {
      const status = connectorErrorOf(err)?.status;
      if (status === 403 || status === 404) {
        this.notInstalled.set(person.id, Date.now() + NOT_INSTALLED_RECHECK_MS);
        return undefined;
      }
      throw err;
    }
    if (!conversationId) return undefined;
    const ref: Reference = { ...book.synthesize(service, conversationId, 'personal'), user: { id: teamsUserId, name: person.name } };
    await book.savePersonal(person.id, ref);
    return ref;
  }

  private chatById(conversationId: string): Promise<Reference | undefined> {
    return this.deps.book.chat(conversationId);
  }
}

function message(card: AdaptiveCard) {
  return { type: 'message' as const, attachments: [CardFactory.adaptiveCard(card)], ...(card.fallbackText ? { summary: card.fallbackText } : {}) };
}

/** A channel post is the root of its own thread, `<channel>;messageid=<id>`: Teams' id for it. */
function threadOf(channel: Reference | undefined, messageId: string): Reference | undefined {
  return channel && { ...channel, conversation: { ...channel.conversation, id: `${channel.conversation.id};messageid=${messageId}` } };
}

function locationKey(kind: string, conversationId: string): string {
  return `${kind}\u0000${conversationId}`;
}

/** Runs each card's work on its own, then fails the delivery with the most useful error. */
class Outcome {
  private readonly retryable: Error[] = [];
  private readonly permanent: Error[] = [];
  constructor(private readonly log: Logger) {}

  async run(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const e = classifyTeamsError(err, what);
      if (e instanceof NonRetriableError) {
        this.permanent.push(e);
        this.log.error({ err: e.message }, `Teams: ${what} failed and will not be retried`);
      } else {
        this.retryable.push(e);
        this.log.warn({ err: e.message }, `Teams: ${what} failed; the delivery will be retried`);
      }
    }
  }

  throwIfFailed(): void {
    if (this.retryable.length) {
      const waits = this.retryable.filter((e): e is RetryAfterError => e instanceof RetryAfterError);
      if (waits.length) throw waits.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
      throw this.retryable[0]!;
    }
    if (this.permanent.length) throw this.permanent[0]!;
  }
}
