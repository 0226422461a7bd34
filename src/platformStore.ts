/**
 * What platform adapters persist, behind a small port so bots/ never talks to the database:
 * where each card was posted (to update it in place), conversation references for proactive
 * messages, and platform event ids already processed (Slack retries deliveries).
 */
import type { Prisma } from './generated/prisma/client.js';
import type { Database } from './store/database.js';
import type { Clock } from './clock.js';

export interface CardLocation {
  handoffId: number;
  platform: string;
  /** "channel" or "dm" */
  kind: string;
  conversationId: string;
  /** null while a post is in flight: the intent is recorded before the platform call. */
  messageId: string | null;
}

/** What names one post's location: a card row's unique key. */
export type CardKey = Pick<CardLocation, 'handoffId' | 'platform' | 'kind' | 'conversationId'>;

/** The outcome of claimCard: won (post it), or lost (someone posted it, or is posting it until claimedUntil). */
export type CardClaim = { won: true; takenOver: boolean; until: Date } | { won: false; messageId: string | null; claimedUntil: Date | null };

export class PlatformStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async cards(handoffId: number, platform: string): Promise<CardLocation[]> {
    const rows = await this.db.prisma.cardRef.findMany({ where: { handoffId, platform }, orderBy: { id: 'asc' } });
    return rows.map((r) => ({ handoffId: r.handoffId, platform: r.platform, kind: r.kind, conversationId: r.conversationId, messageId: r.messageId }));
  }

  /** One location's row, fresh from the database (undefined when nothing was claimed there). */
  async card(loc: CardKey): Promise<CardLocation & { claimedUntil: Date | null } | undefined> {
    const r = await this.db.prisma.cardRef.findUnique({ where: { handoffId_platform_kind_conversationId: loc } });
    return r ? { handoffId: r.handoffId, platform: r.platform, kind: r.kind, conversationId: r.conversationId, messageId: r.messageId, claimedUntil: r.claimedUntil } : undefined;
  }

  /**
   * Claims the post at a location, in one statement: the first claim inserts the row; a later one
   * takes it over only while nothing is recorded there and no other claim holds it (released, or
   * past its `holdMs`). Of several processes claiming at once, exactly one wins; only the winner
   * may post. `takenOver`: an earlier attempt held it, and may have posted before it died.
   */
  async claimCard(loc: CardKey, holdMs: number): Promise<CardClaim> {
    const now = this.clock.now();
    const until = new Date(now.getTime() + holdMs);
    const won = await this.db.prisma.$queryRaw<{ inserted: boolean }[]>`
      INSERT INTO card_ref (handoff_id, platform, kind, conversation_id, message_id, claimed_until, created_at, updated_at)
      VALUES (${loc.handoffId}, ${loc.platform}, ${loc.kind}, ${loc.conversationId}, NULL, ${until}, ${now}, ${now})
      ON CONFLICT (handoff_id, platform, kind, conversation_id) DO UPDATE SET claimed_until = EXCLUDED.claimed_until, updated_at = EXCLUDED.updated_at
        WHERE card_ref.message_id IS NULL AND (card_ref.claimed_until IS NULL OR card_ref.claimed_until <= ${now})
      RETURNING (xmax = 0) AS inserted`;
    if (won[0]) return { won: true, takenOver: !won[0].inserted, until };
    const row = await this.card(loc);
    return { won: false, messageId: row?.messageId ?? null, claimedUntil: row?.claimedUntil ?? null };
  }

  /** A claimed post failed: let the next attempt (any process's) take it over at once. */
  async releaseCard(loc: CardKey, until: Date): Promise<void> {
    await this.db.prisma.$executeRaw`
      UPDATE card_ref SET claimed_until = NULL, updated_at = ${new Date()}
      WHERE handoff_id = ${loc.handoffId} AND platform = ${loc.platform} AND kind = ${loc.kind} AND conversation_id = ${loc.conversationId}
        AND message_id IS NULL AND claimed_until = ${until}`;
  }

  /**
   * Records (or updates) where a card lives. Call with messageId null before posting (or claim it,
   * claimCard), then with the id after; recording the id ends any claim.
   */
  async saveCard(card: CardLocation): Promise<void> {
    // One statement either way (Prisma's upsert with nothing to update is a SELECT, then an INSERT).
    // updated_at is set by the client, as Prisma's @updatedAt does.
    const now = new Date();
    if (card.messageId) {
      await this.db.prisma.$executeRaw`
        INSERT INTO card_ref (handoff_id, platform, kind, conversation_id, message_id, created_at, updated_at)
        VALUES (${card.handoffId}, ${card.platform}, ${card.kind}, ${card.conversationId}, ${card.messageId}, ${now}, ${now})
        ON CONFLICT (handoff_id, platform, kind, conversation_id) DO UPDATE SET message_id = EXCLUDED.message_id, claimed_until = NULL, updated_at = EXCLUDED.updated_at`;
    } else {
      await this.db.prisma.$executeRaw`
        INSERT INTO card_ref (handoff_id, platform, kind, conversation_id, message_id, created_at, updated_at)
        VALUES (${card.handoffId}, ${card.platform}, ${card.kind}, ${card.conversationId}, NULL, ${now}, ${now})
        ON CONFLICT (handoff_id, platform, kind, conversation_id) DO NOTHING`;
    }
  }

  async conversation<T>(platform: string, key: string): Promise<T | undefined> {
    const row = await this.db.prisma.conversationRef.findUnique({ where: { platform_key: { platform, key } } });
    return (row?.reference as T | undefined) ?? undefined;
  }

  /** The stored reference whose `conversation.id` is `conversationId` (one row per person or channel: a scan is fine). */
  async conversationById<T>(platform: string, conversationId: string): Promise<T | undefined> {
    const row = await this.db.prisma.conversationRef.findFirst({ where: { platform, reference: { path: ['conversation', 'id'], equals: conversationId } }, orderBy: { updatedAt: 'desc' } });
    return (row?.reference as T | undefined) ?? undefined;
  }

  async saveConversation(platform: string, key: string, reference: unknown): Promise<void> {
    const value = reference as Prisma.InputJsonValue;
    await this.db.prisma.conversationRef.upsert({
      where: { platform_key: { platform, key } },
      create: { platform, key, reference: value },
      update: { reference: value },
    });
  }

  /** True the first time an event id is seen; false for a retry or replay of it. */
  async firstSeen(platform: string, eventId: string): Promise<boolean> {
    const n = await this.db.prisma.$executeRaw`
      INSERT INTO platform_event (platform, event_id, received_at) VALUES (${platform}, ${eventId}, ${this.clock.now()})
      ON CONFLICT DO NOTHING`;
    return n === 1;
  }

  /** Whether an id was recorded with firstSeen, without recording it. */
  async seen(platform: string, eventId: string): Promise<boolean> {
    return (await this.db.prisma.platformEvent.count({ where: { platform, eventId } })) > 0;
  }

  /** Drops processed-event ids older than `olderThanMs` (Slack retries within minutes). */
  async pruneEvents(olderThanMs: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - olderThanMs);
    const r = await this.db.prisma.platformEvent.deleteMany({ where: { receivedAt: { lt: cutoff } } });
    return r.count;
  }
}
