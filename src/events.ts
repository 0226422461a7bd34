/**
 * Domain events: what a committed change tells the rest of Baton (platform gateways, the SLA
 * engine, metrics). One union, `DomainEvent`, and one writer, `writeEvent`, that stores an event
 * and its delivery rows inside the change's transaction (the transactional outbox, src/outbox.ts).
 *
 * The payloads are a contract: consumers in bots/ read them, and deliveries already stored in a
 * database must still parse after an upgrade. Add optional fields; never rename or drop one.
 */
import type { HandoffAction } from './domain/lifecycle.js';
import type { Prisma } from './generated/prisma/client.js';
import type { SlaEscalationData, SlaNudgeData, SlaReassignData } from './sla/eventData.js';

/** A weekly or monthly digest is due for one subscriber (src/digest.ts schedules it). */
export interface DigestDue {
  personId: string;
  kind: 'weekly' | 'monthly';
  periodFrom: string;
  periodTo: string;
}

export type Tx = Prisma.TransactionClient;

/** An event as stored and delivered (its payload is one of the union's, read back as JSON). */
export interface OutboxEvent {
  id: string;
  handoffId: number | null;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** Something the outbox delivers events to (src/outbox.ts delivers them in lanes, see laneOf). */
export interface OutboxConsumer {
  /** Stable name, stored with each delivery row (e.g. "slack", "teams", "sla"). */
  readonly name: string;
  /** The event types it wants (others get no delivery row), declared against the union. */
  readonly subscribes: readonly EventType[];
  /**
   * The lane an event is delivered in (src/outbox.ts): events of one lane go one at a time, in
   * commit order; different lanes run side by side, and a rate limit (429) pauses only its lane.
   * Give the destination, e.g. the channel the handoff's card lives in; all events of one handoff
   * must map to one lane (their order). Without it, the consumer has a single lane. May look the
   * destination up (it is asked once per claimed delivery); if it fails, the handoff is its own lane.
   */
  laneOf?(event: OutboxEvent): string | Promise<string>;
  /** Must be idempotent: a delivery can run again after a crash between handling and recording. */
  handle(event: OutboxEvent, attempt: number): Promise<void>;
}

/** `handoff.routed`: a new handoff has its owner; its accept SLA runs from now. */
export interface HandoffRoutedPayload {
  handoffId: number;
  version: number;
  ownerId: string;
  timerToken: string;
  slaAcceptDueAt: string;
}

/** Every other `handoff.*` event: the state after the change, and who made it. */
export interface HandoffChangedPayload<Data = Record<string, unknown>> {
  handoffId: number;
  version: number;
  action: HandoffAction;
  /** null: Baton itself (an SLA timer, a delivery). */
  actorId: string | null;
  ownerId: string;
  /** The SLA timers' token after the change (src/sla/engine.ts arms only this one). */
  timerToken: string | null;
  slaAcceptDueAt: string | null;
  slaFirstTouchDueAt: string | null;
  /** Extra facts of the change: the SLA step that fired, the platform that posted… */
  data?: Data;
}

/** The event each action writes. A first-touch breach is an escalation too (data.kind tells which SLA). */
export const EVENT_OF_ACTION = {
  accept: 'handoff.accepted',
  reject: 'handoff.rejected',
  reassign: 'handoff.reassigned',
  auto_reassign: 'handoff.reassigned',
  complete: 'handoff.completed',
  withdraw: 'handoff.withdrawn',
  touch: 'handoff.first_touch',
  post: 'handoff.posted',
  nudge: 'handoff.nudged',
  snooze: 'handoff.snoozed',
  escalate: 'handoff.escalated',
  sla_breach: 'handoff.escalated',
} as const satisfies Record<HandoffAction, `handoff.${string}`>;

/** Each event type and its payload. */
export interface EventPayloads {
  'handoff.routed': HandoffRoutedPayload;
  'handoff.posted': HandoffChangedPayload<{ platform: string }>;
  'handoff.accepted': HandoffChangedPayload;
  'handoff.rejected': HandoffChangedPayload;
  /** data is SlaReassignData when Baton reassigned after a breach (actorId null). */
  'handoff.reassigned': HandoffChangedPayload<SlaReassignData | Record<string, unknown>>;
  'handoff.escalated': HandoffChangedPayload<SlaEscalationData>;
  'handoff.nudged': HandoffChangedPayload<SlaNudgeData>;
  'handoff.snoozed': HandoffChangedPayload;
  'handoff.first_touch': HandoffChangedPayload;
  'handoff.completed': HandoffChangedPayload;
  'handoff.withdrawn': HandoffChangedPayload;
  'digest.weekly': DigestDue;
  'digest.monthly': DigestDue;
}

export type EventType = keyof EventPayloads;
export type HandoffEventType = Extract<EventType, `handoff.${string}`>;

/** One event, before it is stored: its type, the handoff it is about (null for digests), its payload. */
export type DomainEvent = {
  [T in EventType]: { type: T; handoffId: T extends HandoffEventType ? number : null; payload: EventPayloads[T] };
}[EventType];

export const EVENT_TYPES = [
  'handoff.routed',
  'handoff.posted',
  'handoff.accepted',
  'handoff.rejected',
  'handoff.reassigned',
  'handoff.escalated',
  'handoff.nudged',
  'handoff.snoozed',
  'handoff.first_touch',
  'handoff.completed',
  'handoff.withdrawn',
  'digest.weekly',
  'digest.monthly',
] as const satisfies readonly EventType[];
// Every type of the union is listed (a missing one fails to compile here).
const _allListed: Exclude<EventType, (typeof EVENT_TYPES)[number]> extends never ? true : never = true;
void _allListed;

export const HANDOFF_EVENT_TYPES = EVENT_TYPES.filter((t): t is HandoffEventType => t.startsWith('handoff.'));

/** Whether a consumer gets a delivery row for this event type. */
export function subscribes(consumer: OutboxConsumer, type: string): boolean {
  return (consumer.subscribes as readonly string[]).includes(type);
}

/** The names of the consumers that get a delivery row for this event type. */
export function subscribersOf(consumers: readonly OutboxConsumer[], type: EventType): string[] {
  return consumers.filter((c) => subscribes(c, type)).map((c) => c.name);
}

/** A delivered event read as the union member of its type (stored payloads are trusted: we wrote them). */
export function isEvent<T extends EventType>(event: OutboxEvent, type: T): event is OutboxEvent & { type: T; payload: EventPayloads[T] & Record<string, unknown> } {
  return event.type === type;
}

/**
 * Stores the event and one delivery row per subscribed consumer, in one statement inside the
 * caller's transaction. Returns the consumers that got a row (to wake their lanes after commit).
 */
export async function writeEvent(tx: Tx, consumers: readonly OutboxConsumer[], event: DomainEvent, now: Date): Promise<string[]> {
  const wanted = subscribersOf(consumers, event.type);
  await tx.$executeRaw`
    WITH e AS (
      INSERT INTO outbox_event (handoff_id, type, payload, created_at)
      VALUES (${event.handoffId}, ${event.type}, ${JSON.stringify(event.payload)}::jsonb, ${now})
      RETURNING id
    )
    INSERT INTO outbox_delivery (event_id, consumer, attempts, available_at)
    SELECT e.id, c.name, 0, ${now}::timestamptz FROM e, unnest(${wanted}::text[]) AS c(name)`;
  return wanted;
}
