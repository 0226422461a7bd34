/**
 * Handoff rows and audit rows as every surface sees them (HandoffView, HandoffEventView): pure
 * mapping, with people named from the playbook's directory.
 */
import type { Directory } from '../directory.js';
import { AWAITING_ACCEPT, type HandoffStatus } from '../domain/lifecycle.js';
import type { HandoffEventView, HandoffView, PersonRef } from '../domain/view.js';
import type { Transition } from '../playbook/schema.js';
import type { HandoffEventRow, HandoffRow } from '../store/handoffRepository.js';

export function personRef(directory: Directory, id: string): PersonRef {
  const p = directory.byId.get(id);
  return p
    ? { id: p.id, name: p.name, email: p.email, slackUserId: p.slackUserId, teamsUserId: p.teamsUserId, timeZone: p.timeZone }
    : { id, name: id, email: '', slackUserId: null, teamsUserId: null };
}

/** A person's platform ids for views: the playbook's pinned handles (src/personHandles.ts). */
export type PlatformIdsOf = (personId: string) => Pick<PersonRef, 'slackUserId' | 'teamsUserId'>;

export function platformIdsFrom(directory: Directory): PlatformIdsOf {
  return (id) => ({ slackUserId: directory.pinned.handleOf(id, 'slack') ?? null, teamsUserId: directory.pinned.handleOf(id, 'teams') ?? null });
}

export function handoffView(h: HandoffRow, t: Transition | undefined, idsOf: PlatformIdsOf): HandoffView {
  const status = h.status as HandoffStatus;
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const slaDueAt = AWAITING_ACCEPT.includes(status) ? h.slaAcceptDueAt : status === 'accepted' && !h.firstTouchAt ? h.slaFirstTouchDueAt : null;
  // Platform ids are the playbook's (person_handle), no longer columns of the person row.
  const ref = (p: HandoffRow['owner']): PersonRef => ({ id: p.id, name: p.name, email: p.email, ...idsOf(p.id), timeZone: p.timeZone });
  return {
    id: h.id,
    status,
    version: h.version,
    transition: h.transitionId,
    transitionName: t?.name ?? h.transitionId,
    fromStage: t?.fromStage ?? '',
    toStage: t?.toStage ?? '',
    teamId: h.teamId,
    account: { id: h.account.id, name: h.account.name, domain: h.account.domain, crmId: h.account.crmId },
    from: ref(h.from),
    owner: ref(h.owner),
    routingReason: h.routingReason,
    slaDueAt: iso(slaDueAt),
    slaAcceptDueAt: iso(h.slaAcceptDueAt),
    slaFirstTouchDueAt: iso(h.slaFirstTouchDueAt),
    escalationLevel: h.escalationLevel,
    packet: h.packet as Record<string, unknown>,
    externalId: h.externalId,
    createdAt: h.createdAt.toISOString(),
    updatedAt: h.updatedAt.toISOString(),
    acceptedAt: iso(h.acceptedAt),
    firstTouchAt: iso(h.firstTouchAt),
    closedAt: iso(h.closedAt),
  };
}

export function handoffEventView(directory: Directory, e: HandoffEventRow): HandoffEventView {
  return {
    id: String(e.id),
    version: e.version,
    type: e.type,
    actor: e.actorId ? personRef(directory, e.actorId) : null,
    at: e.at.toISOString(),
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    owner: e.ownerId ? personRef(directory, e.ownerId) : null,
    reasonCode: e.reasonCode,
    note: e.note,
    data: e.data,
  };
}
