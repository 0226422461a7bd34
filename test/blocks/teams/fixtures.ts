/** Handoff views built by hand from the default playbook, for the pure card builders. */
import type { HandoffEventView, HandoffView, PersonRef } from '../../../src/domain/view.js';
import type { Playbook, Transition } from '../../../src/playbook/schema.js';
import { PACKET_LIMITS } from '../../../src/playbook/packet.js';
import type { HandoffCardContext } from '../../../blocks/teams/handoffCard.js';
import { Directory } from '../../../src/directory.js';
import { Policy, viewerOf } from '../../../src/domain/policy.js';
import { viewFor, type HandoffAffordances, type ViewerHandoffView } from '../../../src/domain/affordances.js';

export function personRef(pb: Playbook, id: string): PersonRef {
  const p = pb.people.find((x) => x.id === id);
  if (!p) throw new Error(`no person ${id}`);
  return { id: p.id, name: p.name, email: p.email, slackUserId: p.slackUserId, teamsUserId: p.teamsUserId, timeZone: p.timeZone };
}

export function transitionOf(pb: Playbook, id: string): Transition {
  const t = pb.transitions.find((x) => x.id === id);
  if (!t) throw new Error(`no transition ${id}`);
  return t;
}

/** A packet of each field's example value. */
export function examplePacket(t: Transition): Record<string, unknown> {
  return Object.fromEntries(t.packet.map((f) => [f.key, f.example]));
}

/** The largest packet the intake could accept: every field at its size limit (text at the most a playbook may allow). */
export function maximalPacket(t: Transition): Record<string, unknown> {
  const long = (n: number, seed: string) => (seed + ' ').repeat(Math.ceil(n / (seed.length + 1))).slice(0, n);
  return Object.fromEntries(
    t.packet.map((f) => {
      switch (f.type) {
        case 'text':
          return [f.key, long(PACKET_LIMITS.textMaxChars, 'ünïcødé text with **stars** and [links](http://evil.example) ✓')];
        case 'string':
          return [f.key, long(PACKET_LIMITS.stringChars, 'a string value')];
        case 'list':
          return [f.key, Array.from({ length: PACKET_LIMITS.listEntries }, (_, i) => long(PACKET_LIMITS.listEntryChars, `entry ${i} 🚀`))];
        default:
          return [f.key, f.example];
      }
    }),
  );
}

export function makeView(pb: Playbook, transitionId: string, o: Partial<HandoffView> = {}): HandoffView {
  const t = transitionOf(pb, transitionId);
  const team = pb.teams.find((x) => x.id === t.toTeamId)!;
  const owner = pb.people.find((p) => p.teamId === team.id && p.active && p.id !== team.leadId) ?? pb.people.find((p) => p.id === team.leadId)!;
  const from = pb.people.find((p) => p.teamId === t.fromTeamId)!;
  return {
    id: 42,
    status: 'posted',
    version: 2,
    transition: t.id,
    transitionName: t.name,
    fromStage: t.fromStage,
    toStage: t.toStage,
    teamId: t.toTeamId,
    account: { id: 7, name: 'Acme Corp', domain: 'acme.com', crmId: 'crm-7' },
    from: personRef(pb, from.id),
    owner: personRef(pb, owner.id),
    routingReason: 'round robin: next in the queue',
    slaDueAt: '2026-05-04T14:30:00.000Z',
    slaAcceptDueAt: '2026-05-04T14:30:00.000Z',
    slaFirstTouchDueAt: null,
    escalationLevel: 0,
    packet: examplePacket(t),
    externalId: null,
    createdAt: '2026-05-04T13:30:00.000Z',
    updatedAt: '2026-05-04T13:31:00.000Z',
    acceptedAt: null,
    firstTouchAt: null,
    closedAt: null,
    ...o,
  };
}

export function event(o: Partial<HandoffEventView> & Pick<HandoffEventView, 'version' | 'type' | 'toStatus'>): HandoffEventView {
  return { id: String(o.version), actor: null, at: '2026-05-04T13:40:00.000Z', fromStatus: null, owner: null, reasonCode: null, note: null, data: null, ...o };
}

export function ownerContext(pb: Playbook, view: HandoffView, o: Partial<HandoffCardContext> = {}): HandoffCardContext {
  return {
    transition: transitionOf(pb, view.transition),
    refreshUserIds: pb.people.map((p) => p.teamsUserId).filter((x): x is string => Boolean(x)).slice(0, 3),
    ...o,
  };
}

/**
 * The view as `personId` (default: its owner; null: nobody in the playbook, the read-only card)
 * sees it, with the core's affordances from the real policy over the playbook's directory.
 * `over` replaces parts of them, for tests of what a builder draws.
 */
export function asViewer(pb: Playbook, view: HandoffView, personId: string | null = view.owner.id, over: Partial<HandoffAffordances> = {}): ViewerHandoffView {
  const directory = new Directory(pb);
  const viewer = viewerOf(personId === null ? undefined : directory.byId.get(personId));
  const v = viewFor(view, viewer, { policy: new Policy(directory), directory, transition: transitionOf(pb, view.transition), now: new Date('2026-05-04T14:00:00.000Z') });
  return { ...v, affordances: { ...v.affordances, ...over } };
}
