/**
 * Intake: received → validated → routed. `checkIntake` refuses a request the playbook cannot take
 * (with every problem at once); `createRouted` writes the handoff, its two audit events and its
 * `handoff.routed` event inside the caller's transaction, in two or three statements.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Directory } from '../directory.js';
import { routeHandoff } from '../domain/routing.js';
import type { PolicySnapshot } from '../domain/transition.js';
import { InvalidError, type ErrorDetail } from '../errors.js';
import { subscribersOf, type DomainEvent } from '../events.js';
import type { OutboxConsumer } from '../outbox.js';
import type { SqlClient } from '../store/sqlClient.js';
import { evaluateEntryCriteria, validatePacket } from '../playbook/packet.js';
import type { Person, Playbook, Transition } from '../playbook/schema.js';
import { addBusinessTime } from '../sla/businessTime.js';
import type { HandoffRepository, HandoffRow } from '../store/handoffRepository.js';
import type { IntakeRequest } from './requests.js';

export interface CheckedIntake {
  req: IntakeRequest;
  t: Transition;
  from: Person;
  to: Person | undefined;
  /** The packet as the transition's fields parse it. */
  packet: Record<string, unknown>;
}

export function checkIntake(req: IntakeRequest, transitions: ReadonlyMap<string, Transition>, directory: Directory): CheckedIntake {
  const t = transitions.get(req.transition);
  const details: ErrorDetail[] = [];
  if (!t) {
    details.push({ path: 'transition', message: `unknown transition "${req.transition}"; use one of ${[...transitions.keys()].join(', ')}` });
  }
  const from = directory.find(req.from);
  if (!from) details.push({ path: 'from', message: `no person "${req.from}" in the playbook (use an email or a person id from GET /api/people)` });
  else if (!from.active) details.push({ path: 'from', message: `${from.name} is no longer active in the playbook` });
  const to = req.to ? directory.find(req.to) : undefined;
  if (req.to && !to) details.push({ path: 'to', message: `no person "${req.to}" in the playbook` });
  else if (to && !to.active) details.push({ path: 'to', message: `${to.name} is not active; leave "to" out to route automatically` });
  let packet: Record<string, unknown> = req.packet;
  if (t) {
    const v = validatePacket(t, req.packet);
    if (v.ok) packet = v.packet;
    else details.push(...v.details);
    const badFields = new Set(details.map((d) => d.path));
    for (const d of evaluateEntryCriteria(t.entryCriteria, { packet, account: req.account })) {
      if (!badFields.has(d.path)) details.push(d);
    }
  }
  if (details.length || !t || !from) {
    throw new InvalidError(
      `The handoff was not created: ${details.length} problem${details.length === 1 ? '' : 's'} (${details.map((d) => d.path).join(', ')}).`,
      details,
      'validation_failed',
    );
  }
  return { req, t, from, to, packet };
}

export interface RoutedHandoff {
  row: HandoffRow;
  events: DomainEvent[];
  /** Consumers that got delivery rows (to wake after the commit). */
  woken: string[];
}

/**
 * Routes and writes a new handoff inside the transaction `q` (on the driver, not Prisma), in two statements (three when routing reads a
 * round-robin queue): the account with its owner and the queue locks, then the handoff with its
 * audit events, its `handoff.routed` event, its delivery rows and the queue counter. Routing itself
 * reads the playbook and directory from memory.
 */
export async function createRouted(
  q: SqlClient,
  deps: { repo: HandoffRepository; playbook: Playbook; directory: Directory; consumers: readonly OutboxConsumer[] },
  intake: CheckedIntake & { idempotencyKey: string | null; requestHash: string | null },
  now: Date,
): Promise<RoutedHandoff> {
  const { repo } = deps;
  const { req, t, from, to, packet } = intake;
  const toTeam = deps.directory.teams.get(t.toTeamId)!;
  const policy: PolicySnapshot = { acceptMs: t.sla.acceptMs, firstTouchMs: t.sla.firstTouchMs, nudgesAt: t.nudgesAt, escalation: t.escalation, calendar: toTeam.calendar };
  const subject = { packet, account: req.account };
  // A named owner wins over the account's owner and the queues (routeHandoff): nothing to read or lock.
  // Otherwise: the queues routing would consult if the account had no owner. Which queues it tries
  // depends on who is available, never on the counts, so empty counts name the same queues.
  const lockQueues: string[] = [];
  if (!to) {
    await routeHandoff(subject, { playbook: deps.playbook, transition: t, now, accountOwnerId: null, queueCounts: async (queueKey) => (lockQueues.push(queueKey), new Map()) });
  }
  const account = await repo.intakeAccount(q, req.account, { stage: to ? null : t.toStage, lockQueues }, now);
  const route = await routeHandoff(
    subject,
    {
      playbook: deps.playbook,
      transition: t,
      now,
      accountOwnerId: account.ownerId,
      queueCounts: (queueKey) => repo.queueCounts(q, queueKey, { lock: !lockQueues.includes(queueKey) }),
    },
    to?.id,
  );
  const slaAcceptDueAt = addBusinessTime(now, policy.acceptMs, policy.calendar);
  const timerToken = randomUUID();
  const payload = { version: 1, ownerId: route.ownerId, timerToken, slaAcceptDueAt: slaAcceptDueAt.toISOString() };
  const consumers = subscribersOf(deps.consumers, 'handoff.routed');
  const row = await repo.insertRouted(q, {
    handoff: {
      transitionId: t.id,
      accountId: account.accountId,
      fromId: from.id,
      ownerId: route.ownerId,
      teamId: t.toTeamId,
      status: 'routed',
      packet,
      routingReason: route.reason,
      idempotencyKey: intake.idempotencyKey,
      requestHash: intake.requestHash,
      externalId: req.externalId ?? null,
      policy,
      slaAcceptDueAt,
      timerToken,
      createdAt: now,
    },
    audit: [
      { version: 0, type: 'received', actorId: from.id, at: now, toStatus: 'received', data: { source: 'api' } },
      { version: 1, type: 'routed', actorId: null, at: now, fromStatus: 'received', toStatus: 'routed', ownerId: route.ownerId, data: { reason: route.reason, source: route.source } },
    ],
    event: { type: 'handoff.routed', payload },
    consumers,
    queuePick: route.queueKey ? { queueKey: route.queueKey, personId: route.ownerId } : null,
  });
  const event: DomainEvent = { type: 'handoff.routed', handoffId: row.id, payload: { handoffId: row.id, ...payload } };
  return { row, events: [event], woken: consumers };
}

export function hashRequest(req: IntakeRequest): string {
  return createHash('sha256').update(canonicalJson(req)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
