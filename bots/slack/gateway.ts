/**
 * The Slack gateway: the outbox consumer through which every outbound Slack message goes.
 *
 * - `handoff.routed`: posts the card in the receiving team's channel and in the owner's DM, then
 *   tells the core the handoff is posted.
 * - every other `handoff.*` event: re-renders the card from the current view and updates it in
 *   place wherever it lives; each audit event becomes one reply in each card's thread.
 * - `handoff.reassigned`: also DMs the new owner the card. `nudged` / `escalated`: reminders to the
 *   owner, and escalations in the team channel and to the escalation target.
 *
 * Exactly once, despite crashes, ambiguous failures and several processes delivering at once: each
 * post is claimed first (a card_ref row, message id null, claimed until a deadline); only the process
 * that wins the claim posts, and the others use its message once it is recorded. A claim taken over
 * from an attempt that may have posted (it died, or lost the answer) looks for the message in Slack
 * (every message carries `metadata` naming the handoff and what it is) before posting again.
 */
import { WebAPIPlatformError, WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import { HANDOFF_EVENT_TYPES, type OutboxConsumer, type OutboxEvent } from '../../src/events.js';
import type { HandoffService } from '../../src/handoffs.js';
import type { CardKey, CardLocation, PlatformStore } from '../../src/platformStore.js';
import type { Clock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import type { HandoffView } from '../../src/domain/view.js';
import { NotFoundError } from '../../src/errors.js';
import { NonRetriableError } from '../../src/retry.js';
import type { SlackMessage } from '../../blocks/slack/card.js';
import { SILENT_EVENTS, buildEscalationMessage, buildEventReply, buildNudgeMessage } from '../../blocks/slack/notices.js';
import { blockKitProblems } from '../../blocks/slack/limits.js';
import { toDeliveryError } from './api.js';
import type { RateLimiter } from '../../src/rateLimit.js';
import { channelCard } from './render.js';
import { withAffordances } from '../../src/access.js';
import { CHANNEL } from '../../src/domain/affordances.js';
import { viewerOf } from '../../src/domain/policy.js';
import type { SlackUserMapper } from './users.js';

export const SLACK_PLATFORM = 'slack';

/** `metadata.event_type` of what Baton posts; how a retry recognises its own messages. */
export const METADATA_TYPES = { card: 'baton_handoff', reply: 'baton_handoff_event', notice: 'baton_notice' } as const;

/**
 * Events after which the card needs no chat.update: annotations change neither status nor
 * version, and `routed` is when the cards are first posted. Every other event bumps the version
 * the buttons carry, so the card must be redrawn even when nothing else on it changed.
 */
const NO_CARD_CHANGE = new Set(['handoff.routed', 'handoff.nudged', 'handoff.snoozed']);

interface PostSpec {
  handoffId: number;
  /** Card location kind: "channel" | "dm" for cards, "reply:<audit event id>", "notice:<outbox event id>". */
  kind: string;
  channel: string;
  threadTs?: string | undefined;
  message: SlackMessage;
  metadata: { event_type: string; event_payload: Record<string, string | number> };
  /** Nothing of this was posted before this time (bounds the history search). */
  since: Date;
}

interface HistoryMessage {
  ts?: string;
  thread_ts?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

export interface SlackGatewayDeps {
  service: HandoffService;
  store: PlatformStore;
  client: WebClient;
  users: SlackUserMapper;
  pacer: RateLimiter;
  clock: Clock;
  log: Logger;
  /**
   * How long a claim on a post holds before another attempt may take it over: longer than one
   * chat.postMessage may take (the client's timeout) plus recording it. Default 30 s.
   */
  claimMs?: number;
}

/** How often an attempt that lost a claim looks for the winner's message. */
const CLAIM_POLL_MS = 100;

export class SlackGateway implements OutboxConsumer {
  readonly name = SLACK_PLATFORM;
  private readonly dmChannels = new Map<string, string>();
  /** Locations whose last post failed in a way that proves Slack did not post it (429, an error answer). */
  private readonly provenNotPosted = new Set<string>();

  private readonly claimMs: number;

  constructor(private readonly deps: SlackGatewayDeps) {
    this.claimMs = deps.claimMs ?? 30_000;
  }

  // `posted` is Baton's own note that the cards went out: it changes neither the card (the
  // version stays) nor the thread (a silent event), so there is nothing to deliver.
  readonly subscribes = HANDOFF_EVENT_TYPES.filter((t) => t !== 'handoff.posted');

  async handle(event: OutboxEvent): Promise<void> {
    const { service, store, log } = this.deps;
    if (event.handoffId === null) return;
    let view: HandoffView;
    try {
      view = await service.get(event.handoffId);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    const rows = await store.cards(view.id, SLACK_PLATFORM);
    const problems: NonRetriableError[] = [];
    // A permanent failure at one place (an archived channel) must not stop the others (the DM).
    const each = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        const e = toDeliveryError(err, what);
        if (!(e instanceof NonRetriableError)) throw e;
        problems.push(e);
        log.error({ handoffId: view.id, event: event.type, err: e.message }, `Slack: ${e.message}`);
      }
    };
    const now = this.deps.clock.now();
    const card = channelCard(service, view, now);
    this.guardLimits(card, view.id);
    const fresh = new Set<string>();

    if (event.type === 'handoff.routed' || event.type === 'handoff.reassigned') {
      for (const target of await this.cardTargets(view, each)) {
        await each(`posting the card for handoff #${view.id} in ${target.channel}`, async () => {
          const r = await this.postOnce(
            { handoffId: view.id, kind: target.kind, channel: target.channel, message: card, metadata: { event_type: METADATA_TYPES.card, event_payload: { handoff_id: view.id } }, since: new Date(view.createdAt) },
            rows,
          );
          if (r.fresh) fresh.add(`${target.kind}|${target.channel}`);
        });
      }
    }

    const cards = () => rows.filter((r) => (r.kind === 'channel' || r.kind === 'dm') && r.messageId);
    if (!NO_CARD_CHANGE.has(event.type)) {
      for (const loc of cards()) {
        if (fresh.has(`${loc.kind}|${loc.conversationId}`)) continue;
        await each(`updating the card for handoff #${view.id} in ${loc.conversationId}`, async () => {
          try {
            await this.deps.client.chat.update({ channel: loc.conversationId, ts: loc.messageId!, text: card.text, blocks: card.blocks });
          } catch (err) {
            throw await this.failure(err, `chat.update in ${loc.conversationId}`, loc.conversationId);
          }
        });
      }
    }

    await this.replyEvents(view, rows, cards(), each);

    if (event.type === 'handoff.nudged') await this.nudge(view, event, rows, now, each);
    if (event.type === 'handoff.escalated') await this.escalate(view, event, rows, now, each);

    if (event.type === 'handoff.routed') {
      if (cards().length) await service.markPosted(view.id, SLACK_PLATFORM);
      else if (problems.length) throw new NonRetriableError(`Handoff #${view.id} could not be posted anywhere in Slack: ${problems.map((p) => p.message).join('; ')}`);
      else log.warn({ handoffId: view.id }, 'Slack: nowhere to post this handoff (the team has no Slack channel and the owner no Slack account)');
    }
  }

  /** The receiving team's channel and the current owner's DM. */
  private async cardTargets(view: HandoffView, each: (what: string, fn: () => Promise<void>) => Promise<void>): Promise<{ kind: 'channel' | 'dm'; channel: string }[]> {
    const targets: { kind: 'channel' | 'dm'; channel: string }[] = [];
    const channel = this.deps.service.directory.teams.get(view.teamId)?.channels.slack;
    if (channel) targets.push({ kind: 'channel', channel });
    await each(`opening a DM with ${view.owner.name}`, async () => {
      const dm = await this.dmFor(view.owner.id, view.owner);
      if (dm) targets.push({ kind: 'dm', channel: dm });
    });
    return targets;
  }

  /** The DM channel with a person, or undefined when they have no Slack account. */
  private async dmFor(personId: string, fallback?: { email: string; slackUserId: string | null }): Promise<string | undefined> {
    const person = this.deps.service.directory.byId.get(personId) ?? fallback;
    if (!person) return undefined;
    let userId: string | undefined;
    try {
      userId = await this.deps.users.slackIdFor(person);
    } catch (err) {
      throw await this.failure(err, 'users.lookupByEmail');
    }
    if (!userId) return undefined;
    const known = this.dmChannels.get(userId);
    if (known) return known;
    try {
      const r = await this.deps.client.conversations.open({ users: userId });
      const id = r.channel?.id;
      if (!id) throw new Error('conversations.open returned no channel id');
      this.dmChannels.set(userId, id);
      return id;
    } catch (err) {
      throw await this.failure(err, `conversations.open with ${userId}`);
    }
  }

  /** Each audit event once in every card's thread, oldest first; catches up after outages. */
  private async replyEvents(view: HandoffView, rows: CardLocation[], cards: CardLocation[], each: (what: string, fn: () => Promise<void>) => Promise<void>): Promise<void> {
    const events = (view.events ?? []).filter((e) => !SILENT_EVENTS.includes(e.type));
    if (!events.length) return;
    const reasons = this.deps.service.transition(view.transition)?.rejectReasons ?? [];
    for (const loc of cards) {
      await each(`replying in the thread of handoff #${view.id} in ${loc.conversationId}`, async () => {
        for (const e of events) {
          await this.postOnce(
            {
              handoffId: view.id,
              kind: `reply:${e.id}`,
              channel: loc.conversationId,
              threadTs: loc.messageId!,
              message: buildEventReply(e, reasons),
              metadata: { event_type: METADATA_TYPES.reply, event_payload: { handoff_id: view.id, event_id: e.id } },
              since: new Date(e.at),
            },
            rows,
          );
        }
      });
    }
  }

  private async nudge(view: HandoffView, event: OutboxEvent, rows: CardLocation[], now: Date, each: (what: string, fn: () => Promise<void>) => Promise<void>): Promise<void> {
    // A DM to the owner: the buttons the core offers them.
    const owner = this.deps.service.directory.byId.get(view.owner.id);
    const message = buildNudgeMessage(withAffordances(this.deps.service, view, viewerOf(owner), now), event.payload.data, now);
    await each(`reminding ${view.owner.name} about handoff #${view.id}`, async () => {
      const dm = await this.dmFor(view.owner.id, view.owner);
      if (dm) await this.postOnce(this.noticeSpec(view, event, dm, message), rows);
    });
  }

  private async escalate(view: HandoffView, event: OutboxEvent, rows: CardLocation[], now: Date, each: (what: string, fn: () => Promise<void>) => Promise<void>): Promise<void> {
    // In the team channel everyone sees one message (each click is checked for whoever clicks).
    const message = buildEscalationMessage(withAffordances(this.deps.service, view, CHANNEL, now), event.payload.data, now);
    this.guardLimits(message, view.id);
    const channel = this.deps.service.directory.teams.get(view.teamId)?.channels.slack;
    if (channel) await each(`posting the escalation of handoff #${view.id} in ${channel}`, () => this.postOnce(this.noticeSpec(view, event, channel, message), rows).then(() => undefined));
    const data = event.payload.data as { escalatedTo?: { id?: unknown } } | undefined;
    const targetId = typeof data?.escalatedTo?.id === 'string' ? data.escalatedTo.id : undefined;
    const target = targetId ? this.deps.service.directory.find(targetId) : undefined;
    if (target) {
      await each(`telling ${target.name} about the escalation of handoff #${view.id}`, async () => {
        const dm = await this.dmFor(target.id);
        // The person escalated to gets the buttons the core offers them.
        const theirs = buildEscalationMessage(withAffordances(this.deps.service, view, viewerOf(target), now), event.payload.data, now);
        if (dm) await this.postOnce(this.noticeSpec(view, event, dm, theirs), rows);
      });
    }
  }

  private noticeSpec(view: HandoffView, event: OutboxEvent, channel: string, message: SlackMessage): PostSpec {
    return {
      handoffId: view.id,
      kind: `notice:${event.id}`,
      channel,
      message,
      metadata: { event_type: METADATA_TYPES.notice, event_payload: { handoff_id: view.id, outbox_event_id: event.id } },
      since: event.createdAt,
    };
  }

  /**
   * Posts a message exactly once per (handoff, kind, channel), whichever process delivers it: waits
   * for the channel's slot, then claims the post (src/platformStore.ts claimCard) — only the winner
   * posts; a loser uses the winner's message once it is recorded. A claim taken over from an
   * attempt that may have posted (it died, or its answer was lost) looks the message up in Slack first.
   */
  private async postOnce(spec: PostSpec, rows: CardLocation[]): Promise<{ ts: string; fresh: boolean }> {
    const { store } = this.deps;
    const key = `${spec.handoffId}|${spec.kind}|${spec.channel}`;
    const loc = { handoffId: spec.handoffId, platform: SLACK_PLATFORM, kind: spec.kind, conversationId: spec.channel };
    const known = rows.find((r) => r.kind === spec.kind && r.conversationId === spec.channel);
    if (known?.messageId) return { ts: known.messageId, fresh: false };
    const remember = (messageId: string | null): CardLocation => {
      const row = rows.find((r) => r.kind === spec.kind && r.conversationId === spec.channel);
      if (row) row.messageId = messageId;
      else rows.push({ ...loc, messageId });
      return row ?? rows[rows.length - 1]!;
    };
    // The wait comes before the claim, so a claim is held only while its post is in flight.
    await this.deps.pacer.slot(spec.channel);
    const claim = await this.claim(loc, spec);
    if ('ts' in claim) {
      remember(claim.ts);
      return { ts: claim.ts, fresh: false };
    }
    if (claim.takenOver && !this.provenNotPosted.has(key)) {
      const found = await this.findPosted(spec).catch(async (err: unknown) => {
        await this.release(loc, claim.until);
        throw err;
      });
      if (found) {
        await store.saveCard(remember(found));
        this.deps.log.info({ handoffId: spec.handoffId, kind: spec.kind, channel: spec.channel }, 'Slack: found the message an earlier attempt posted; not posting it again');
        return { ts: found, fresh: false };
      }
    }
    let ts: string | undefined;
    try {
      const r = await this.deps.client.chat.postMessage({
        channel: spec.channel,
        text: spec.message.text,
        blocks: spec.message.blocks,
        metadata: spec.metadata,
        unfurl_links: false,
        unfurl_media: false,
        ...(spec.threadTs ? { thread_ts: spec.threadTs } : {}),
      });
      ts = r.ts;
    } catch (err) {
      // A 429 or an error answer proves nothing was posted; a 5xx or a timeout proves nothing either way.
      if (err instanceof WebAPIRateLimitedError || err instanceof WebAPIPlatformError) this.provenNotPosted.add(key);
      else this.provenNotPosted.delete(key);
      await this.release(loc, claim.until);
      throw await this.failure(err, `chat.postMessage in ${spec.channel}`, spec.channel);
    }
    this.provenNotPosted.delete(key);
    if (!ts) throw new Error('chat.postMessage returned no ts');
    await store.saveCard(remember(ts));
    return { ts, fresh: true };
  }

  /**
   * Claims a post; while another attempt holds it, waits for that attempt's message (or for its
   * claim to be released or to lapse, then claims again), at most one claim's lifetime.
   */
  private async claim(loc: CardKey, spec: PostSpec): Promise<{ ts: string } | { takenOver: boolean; until: Date }> {
    const giveUpAt = Date.now() + this.claimMs;
    for (;;) {
      const c = await this.deps.store.claimCard(loc, this.claimMs);
      if (c.won) return c;
      if (c.messageId) return { ts: c.messageId };
      if (Date.now() >= giveUpAt) throw new Error(`another Baton process is posting ${spec.kind} of handoff #${spec.handoffId} in ${spec.channel}; retrying later`);
      await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
    }
  }

  private async release(loc: CardKey, until: Date): Promise<void> {
    try {
      await this.deps.store.releaseCard(loc, until);
    } catch (err) {
      // The claim lapses by itself (claimMs); releasing it only spares the retry that wait.
      this.deps.log.warn({ handoffId: loc.handoffId, kind: loc.kind, err: err instanceof Error ? err.message : String(err) }, 'Slack: could not release a post claim');
    }
  }

  /** Finds a message an earlier attempt may have posted, by its metadata. */
  private async findPosted(spec: PostSpec): Promise<string | undefined> {
    const matches = (m: HistoryMessage) =>
      m.metadata?.event_type === spec.metadata.event_type &&
      Object.entries(spec.metadata.event_payload).every(([k, v]) => String(m.metadata?.event_payload?.[k]) === String(v));
    let cursor: string | undefined;
    try {
      for (let page = 0; page < 10; page++) {
        const r = spec.threadTs
          ? await this.deps.client.conversations.replies({ channel: spec.channel, ts: spec.threadTs, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) })
          : await this.deps.client.conversations.history({
              channel: spec.channel,
              include_all_metadata: true,
              limit: 200,
              // Slack's clock and ours may differ a little; an hour of margin costs only a page.
              oldest: String(Math.floor(spec.since.getTime() / 1000) - 3600),
              ...(cursor ? { cursor } : {}),
            });
        const hit = (r.messages as HistoryMessage[] | undefined)?.find(matches);
        if (hit?.ts) return hit.ts;
        cursor = r.response_metadata?.next_cursor || undefined;
        if (!cursor) return undefined;
      }
    } catch (err) {
      const e = await this.failure(err, `searching ${spec.channel} for an earlier post`);
      if (!(e instanceof NonRetriableError)) throw e;
      // Without history access we cannot check; a possible duplicate beats a lost card.
      this.deps.log.warn({ handoffId: spec.handoffId, err: e.message }, 'Slack: could not check for an earlier post; posting');
    }
    return undefined;
  }

  /** Maps a Web API failure to the outbox's retry intent, and remembers a 429 for the channel posted to (for every process sharing the pacer). */
  private async failure(err: unknown, what: string, channel?: string): Promise<Error> {
    if (channel && err instanceof WebAPIRateLimitedError) await this.deps.pacer.block(channel, Math.max(1, err.retryAfter) * 1000);
    return toDeliveryError(err, what);
  }

  /** The builders respect Slack's limits by construction; if one ever does not, say so loudly (Slack would refuse it). */
  private guardLimits(message: SlackMessage, handoffId: number): void {
    const problems = blockKitProblems(message.blocks, 'message');
    if (problems.length) this.deps.log.error({ handoffId, problems }, 'Slack: a message breaks Block Kit limits');
  }
}
