/**
 * Who takes over a reassigned handoff: the person named, or the next available person in the
 * transition's queue (not the current owner), or its fallback owner — directly when `to` is
 * FALLBACK_TARGET (Baton's second automatic reassignment: the queue had its turn). Runs inside the change's
 * transaction: a queue pick takes the queue's lock and counts the assignment.
 */
import type { Directory } from '../directory.js';
import { isAvailable, pickWeighted } from '../domain/routing.js';
import type { ReassignTarget } from '../domain/transition.js';
import { ConflictError, InvalidError } from '../errors.js';
import type { Tx } from '../outbox.js';
import type { Transition } from '../playbook/schema.js';
import type { HandoffRepository, HandoffRow } from '../store/handoffRepository.js';

/** Reassign straight to the transition's fallback owner. */
export const FALLBACK_TARGET = 'fallback';

export async function pickReassignTarget(
  tx: Tx,
  deps: { repo: HandoffRepository; directory: Directory },
  h: HandoffRow,
  t: Transition | undefined,
  to: string | undefined,
  now: Date,
): Promise<ReassignTarget> {
  const { directory, repo } = deps;
  if (to === FALLBACK_TARGET) {
    if (!t) throw new InvalidError('This handoff\'s transition is no longer in the playbook; name a person to reassign to.', [{ path: 'to', message: 'name a person' }]);
    if (t.fallbackOwnerId === h.ownerId) throw new ConflictError('The fallback owner already owns this handoff.', undefined, undefined, 'no_reassign_target');
    return { ownerId: t.fallbackOwnerId, reason: 'fallback owner: reassigned before, so the queue had its turn', source: 'fallback' };
  }
  if (to && to !== 'queue') {
    const p = directory.find(to);
    if (!p) throw new InvalidError(`There is no person "${to}" in the playbook.`, [{ path: 'to', message: `no person "${to}" in the playbook` }]);
    if (!p.active) throw new InvalidError(`${p.name} is not active.`, [{ path: 'to', message: `${p.name} is not active in the playbook` }]);
    if (p.id === h.ownerId) throw new InvalidError(`${p.name} already owns this handoff.`, [{ path: 'to', message: `${p.name} is already the owner` }]);
    return { ownerId: p.id, reason: `reassigned to ${p.name}`, source: 'named' };
  }
  if (!t) throw new InvalidError('This handoff\'s transition is no longer in the playbook; name a person to reassign to.', [{ path: 'to', message: 'name a person' }]);
  const queueKey = `${t.id}:queue`;
  const counts = await repo.lockedQueueCounts(tx, queueKey);
  const pick = pickWeighted(t.routing.queue, counts, (id) => {
    const p = directory.byId.get(id);
    return p && p.id !== h.ownerId && isAvailable(p, now) ? p : undefined;
  });
  if (pick) {
    await repo.bumpQueue(tx, queueKey, pick.id);
    return { ownerId: pick.id, reason: `next in the ${directory.teams.get(t.toTeamId)?.name ?? t.toTeamId} queue`, source: 'queue' };
  }
  if (t.fallbackOwnerId !== h.ownerId) return { ownerId: t.fallbackOwnerId, reason: 'fallback owner: nobody else in the queue is available', source: 'fallback' };
  throw new ConflictError('Nobody else in the queue is available and the fallback owner already owns it; name a person instead.', undefined, undefined, 'no_reassign_target');
}
