/**
 * Who owns a new handoff, and why. Order: the named owner in the request, the account's owner
 * for the receiving stage, the first playbook rule that matches, the weighted round-robin queue,
 * and finally the fallback owner. Nothing is ever unowned.
 *
 * Pure: the caller supplies the account owner and the queue's assignment counts, then records
 * the pick (src/handoffs.ts does both inside the intake transaction).
 */
import { DateTime } from 'luxon';
import type { Person, Playbook, QueueMember, Transition } from '../playbook/schema.js';
import { evaluateEntryCriteria } from '../playbook/packet.js';

export interface RoutingSubject {
  packet: Record<string, unknown>;
  account: { name: string; domain?: string | null; crmId?: string | null; segment?: string | null; region?: string | null };
}

export interface RoutingContext {
  playbook: Playbook;
  transition: Transition;
  now: Date;
  /** The person currently owning this account at the receiving stage, if any. */
  accountOwnerId: string | null;
  /** Assignments so far per queue member, keyed by person id (missing = 0). */
  queueCounts: (queueKey: string) => Promise<Map<string, number>>;
  /** People to skip (e.g. the current owner when reassigning to the queue). */
  exclude?: readonly string[];
}

export type RoutingDecision =
  | { ownerId: string; reason: string; source: 'named' | 'account_owner' | 'rule' | 'fallback'; queueKey?: undefined }
  | { ownerId: string; reason: string; source: 'queue' | 'rule_queue'; queueKey: string };

/** A person can take new work: active, and not away today in their own time zone. */
export function isAvailable(p: Person, now: Date): boolean {
  if (!p.active) return false;
  if (!p.awayUntil) return true;
  const today = DateTime.fromJSDate(now, { zone: p.timeZone }).toISODate();
  return today !== null && today > p.awayUntil;
}

export async function routeHandoff(subject: RoutingSubject, ctx: RoutingContext, namedOwnerId?: string): Promise<RoutingDecision> {
  const { playbook, transition: t, now } = ctx;
  const byId = new Map(playbook.people.map((p) => [p.id, p]));
  const usable = (id: string | null | undefined): Person | undefined => {
    const p = id ? byId.get(id) : undefined;
    return p && isAvailable(p, now) && !ctx.exclude?.includes(p.id) ? p : undefined;
  };

  // A named owner was validated by the caller (exists, active); honour it even if away — the sender chose them.
  if (namedOwnerId) return { ownerId: namedOwnerId, reason: 'named as the owner in the request', source: 'named' };

  const accountOwner = usable(ctx.accountOwnerId);
  if (accountOwner) return { ownerId: accountOwner.id, reason: `owns this account at the ${stageName(playbook, t.toStage)} stage`, source: 'account_owner' };

  for (const rule of t.routing.rules) {
    if (evaluateEntryCriteria(rule.when, subject).length > 0) continue;
    if (rule.assignTo) {
      const p = usable(rule.assignTo);
      if (p) return { ownerId: p.id, reason: `routing rule "${rule.name}"`, source: 'rule' };
    }
    if (rule.queue?.length) {
      const key = `${t.id}:rule:${rule.name}`;
      const pick = pickWeighted(rule.queue, await ctx.queueCounts(key), usable);
      if (pick) return { ownerId: pick.id, reason: `routing rule "${rule.name}" (round-robin)`, source: 'rule_queue', queueKey: key };
    }
  }

  const key = `${t.id}:queue`;
  const pick = pickWeighted(t.routing.queue, await ctx.queueCounts(key), usable);
  if (pick) {
    const team = playbook.teams.find((tm) => tm.id === t.toTeamId);
    return { ownerId: pick.id, reason: `round-robin in the ${team?.name ?? t.toTeamId} queue`, source: 'queue', queueKey: key };
  }

  return {
    ownerId: t.fallbackOwnerId,
    reason: 'fallback owner: nobody in the queue is available',
    source: 'fallback',
  };
}

/**
 * Weighted round-robin without randomness: the member furthest below their fair share
 * (assigned / weight) goes next; ties go to the member listed first. Deterministic, so
 * tests and audits can explain every pick.
 */
export function pickWeighted(
  members: readonly QueueMember[],
  counts: Map<string, number>,
  usable: (id: string) => Person | undefined,
): Person | undefined {
  let best: { person: Person; score: number } | undefined;
  for (const m of members) {
    const p = usable(m.personId);
    if (!p) continue;
    const score = ((counts.get(m.personId) ?? 0) + 1) / m.weight;
    if (!best || score < best.score) best = { person: p, score };
  }
  return best?.person;
}

function stageName(pb: Playbook, stageId: string): string {
  return pb.stages.find((s) => s.id === stageId)?.name ?? stageId;
}
