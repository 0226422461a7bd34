import { loadPlaybook } from '../../src/playbook/load.js';
import type { Playbook, Transition } from '../../src/playbook/schema.js';
import { Directory } from '../../src/directory.js';
import { Policy, INTEGRATION, viewerOf, type Viewer } from '../../src/domain/policy.js';
import { forbidden, STATUSES, type HandoffStatus, type UserAction } from '../../src/domain/lifecycle.js';
import type { HandoffEventView, HandoffView, PersonRef } from '../../src/domain/view.js';
import { CHANNEL, DUE_SOON_MS, affordancesFor, reassignCandidates, viewFor, type Audience, type AffordanceDeps } from '../../src/domain/affordances.js';

let pb: Playbook;
let dir: Directory;
let policy: Policy;
let t: Transition;
beforeAll(async () => {
  pb = await loadPlaybook('playbook.yml');
  dir = new Directory(pb);
  policy = new Policy(dir);
  t = pb.transitions.find((x) => x.id === 'marketing_to_sdr')!;
});

const NOW = new Date('2026-11-24T10:00:00Z');
const person = (id: string) => dir.byId.get(id)!;
const ref = (id: string): PersonRef => {
  const p = person(id);
  return { id: p.id, name: p.name, email: p.email, slackUserId: p.slackUserId, teamsUserId: p.teamsUserId, timeZone: p.timeZone };
};
const as = (id: string): Viewer => viewerOf(person(id));
const deps = (over: Partial<AffordanceDeps> = {}): AffordanceDeps => ({ policy, directory: dir, transition: t, now: NOW, ...over });

/** Amelia (SDR) owns a Marketing → SDR handoff from Liam (marketing). */
function handoff(status: HandoffStatus, over: Partial<HandoffView> = {}): HandoffView {
  const closed = ['rejected', 'completed', 'withdrawn'].includes(status);
  const events: HandoffEventView[] = [
    { id: '1', version: 1, type: 'routed', actor: null, at: '2026-11-24T09:00:00.000Z', fromStatus: 'received', toStatus: 'routed', owner: ref('amelia'), reasonCode: null, note: null, data: null },
    { id: '2', version: 2, type: status, actor: ref('amelia'), at: '2026-11-24T09:30:00.000Z', fromStatus: 'posted', toStatus: status, owner: ref('amelia'), reasonCode: null, note: null, data: null },
  ];
  return {
    id: 7,
    status,
    version: 2,
    transition: 'marketing_to_sdr',
    transitionName: 'Marketing → SDR',
    fromStage: 'marketing',
    toStage: 'sdr',
    teamId: 'sdr',
    account: { id: 1, name: 'Acme', domain: null, crmId: null },
    from: ref('liam'),
    owner: ref('amelia'),
    routingReason: 'queue',
    slaDueAt: closed ? null : '2026-11-24T14:00:00.000Z',
    slaAcceptDueAt: '2026-11-24T14:00:00.000Z',
    slaFirstTouchDueAt: null,
    escalationLevel: 0,
    packet: {},
    externalId: null,
    createdAt: '2026-11-24T09:00:00.000Z',
    updatedAt: '2026-11-24T09:30:00.000Z',
    acceptedAt: null,
    firstTouchAt: null,
    closedAt: closed ? '2026-11-24T09:30:00.000Z' : null,
    events,
    ...over,
  };
}

const OWNER_SIDE: Partial<Record<HandoffStatus, UserAction[]>> = {
  routed: ['accept', 'reject', 'reassign'],
  posted: ['accept', 'reject', 'reassign'],
  reassigned: ['accept', 'reject', 'reassign'],
  escalated: ['accept', 'reject', 'reassign'],
  accepted: ['reassign', 'touch', 'complete'],
};
const OPEN = ['routed', 'posted', 'reassigned', 'escalated', 'accepted'];

describe('affordances: each role × status', () => {
  // amelia owner · oliver her manager and team lead · sam admin · liam sender · maya sender's lead · sven a peer
  const cases: [string, string[], boolean, boolean][] = [
    ['amelia', ['owner'], true, false],
    ['oliver', ['owner_lead'], true, false],
    ['sam', ['admin'], true, true],
    ['liam', ['sender'], false, true],
    ['maya', ['sender_lead'], false, true],
    ['sven', [], false, false],
  ];
  for (const status of STATUSES) {
    it.each(cases)(`${status}: %s has roles %j`, (id, roles, ownerSide, senderSide) => {
      const a = affordancesFor(handoff(status), as(id), deps());
      expect(a.viewer).toEqual({ kind: 'person', person: { id, name: person(id).name, timeZone: person(id).timeZone }, roles, refusal: null });
      expect(a.offered).toEqual(ownerSide ? (OWNER_SIDE[status] ?? []) : []);
      expect(a.offeredOnReminder).toEqual(ownerSide ? ['accept', 'reassign', 'snooze'].filter((x) => (status === 'accepted' ? x !== 'accept' : true)).filter(() => OPEN.includes(status)) : []);
      const withdraw = a.actions.find((x) => x.action === 'withdraw')!;
      expect(withdraw.allowed).toBe(senderSide && OPEN.includes(status));
      expect(a.actions.map((x) => x.action)).toEqual(['accept', 'reject', 'reassign', 'touch', 'complete', 'withdraw', 'snooze']);
      for (const x of a.actions) {
        expect(x.allowed).toBe(x.reason === undefined);
        if (x.allowed) expect(x.available).toBe(true);
      }
    });
  }
});

describe('affordances: refusal copy is the core\'s', () => {
  it('a viewer whose roles do not allow an action is told who can, as the click would be', () => {
    const a = affordancesFor(handoff('posted'), as('sven'), deps());
    const accept = a.actions.find((x) => x.action === 'accept')!;
    expect(accept).toMatchObject({ action: 'accept', label: 'Accept', available: true, allowed: false });
    expect(accept.reason).toBe(forbidden('accept', policy.whoCanAct(handoff('posted'), 'accept')).userMessage);
    expect(accept.reason).toBe(`You can't accept this handoff — ${a.whoCanAct.accept} can.`);
    expect(a.whoCanAct.accept).toContain('Amelia');
    expect(a.whoCanAct.accept).toContain('a playbook admin');
    // Withdrawing is the sender side's: it names the sender.
    expect(a.whoCanAct.withdraw).toContain(`${person('liam').name} (sender)`);
  });

  it('an action the status does not allow says what happened, by whom and when', () => {
    const a = affordancesFor(handoff('accepted'), as('amelia'), deps());
    const accept = a.actions.find((x) => x.action === 'accept')!;
    expect(accept).toMatchObject({ available: false, allowed: false });
    expect(accept.reason).toBe(`This handoff was already accepted by ${person('amelia').name} at 2026-11-24 09:30 UTC, so it can't be accepted now.`);
  });

  it('a first touch is offered once', () => {
    const a = affordancesFor(handoff('accepted', { firstTouchAt: '2026-11-24T09:45:00.000Z' }), as('amelia'), deps());
    expect(a.offered).toEqual(['reassign', 'complete']);
    expect(a.actions.find((x) => x.action === 'touch')).toMatchObject({ available: false, allowed: false, reason: 'The first touch was already recorded for this handoff.' });
  });

  it('a stranger gets the policy\'s stranger copy with the account the surface names, and nothing offered', () => {
    const viewer = viewerOf(undefined);
    const a = affordancesFor(handoff('posted'), viewer, deps({ account: 'your Slack account (member id U1)' }));
    expect(a.viewer).toEqual({ kind: 'unknown', person: null, roles: [], refusal: policy.strangerMessage(viewer, 'your Slack account (member id U1)') });
    expect(a.viewer.refusal).toContain('Baton doesn\'t know your Slack account (member id U1).');
    expect(a.offered).toEqual([]);
    const inactive = viewerOf({ ...person('sven'), active: false });
    expect(affordancesFor(handoff('posted'), inactive, deps()).viewer.refusal).toContain('marked inactive');
  });

  it('the integration sees everything and is no actor', () => {
    const a = affordancesFor(handoff('posted'), INTEGRATION, deps());
    expect(a.viewer).toEqual({ kind: 'integration', person: null, roles: [], refusal: null });
    expect(a.offered).toEqual([]);
    expect(a.actions.filter((x) => x.available).map((x) => x.action)).toEqual(['accept', 'reject', 'reassign', 'withdraw', 'snooze']);
  });
});

describe('affordances: the channel audience', () => {
  it.each(STATUSES)('%s: offers what the status allows for somebody', (status) => {
    const a = affordancesFor(handoff(status), CHANNEL, deps());
    expect(a.viewer).toEqual({ kind: 'channel', person: null, roles: [], refusal: null });
    expect(a.offered).toEqual(OWNER_SIDE[status] ?? []);
    for (const x of a.actions) expect(x.allowed).toBe(x.available);
  });
});

describe('affordances: reassign candidates, one rule', () => {
  it('the receiving team\'s active people and its lead, the owner left out, by name; queue offered', () => {
    const a = affordancesFor(handoff('posted'), CHANNEL, deps());
    // SDR: oliver (lead), amelia (owner, left out), sven, tom (inactive, left out).
    expect(a.reassignCandidates).toEqual([
      { id: 'oliver', name: person('oliver').name, teamName: 'SDR' },
      { id: 'sven', name: person('sven').name, teamName: 'SDR' },
    ]);
    expect(a.queueOffered).toBe(true);
    expect(a.rejectReasons).toEqual(t.rejectReasons.map((r) => ({ code: r.code, label: r.label })));
  });

  it('adds the transition\'s queue members and fallback owner from other teams, if active', () => {
    const wide = { ...t, routing: { ...t.routing, queue: [...t.routing.queue, { personId: 'jack', weight: 1 }, { personId: 'tom', weight: 1 }] }, fallbackOwnerId: 'noah' };
    const ids = reassignCandidates(handoff('posted'), { directory: dir, transition: wide }).map((c) => c.id);
    const expected = ['oliver', 'sven', 'jack', 'noah'].sort((x, y) => person(x).name.localeCompare(person(y).name));
    expect(ids).toEqual(expected);
    // The receiving team's lead counts even when another team's member; an owner from the team is left out.
    const byOliver = reassignCandidates(handoff('posted', { owner: ref('oliver') }), { directory: dir, transition: t }).map((c) => c.id);
    expect(byOliver).toEqual(['amelia', 'sven']);
  });

  it('without a transition: the team only, and no queue', () => {
    const a = affordancesFor(handoff('posted'), CHANNEL, deps({ transition: undefined }));
    expect(a.reassignCandidates.map((c) => c.id)).toEqual(['oliver', 'sven']);
    expect(a.queueOffered).toBe(false);
    expect(a.rejectReasons).toEqual([]);
  });
});

describe('affordances: SLA state and per-user card recipients', () => {
  const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
  it.each([
    ['posted', at(2 * DUE_SOON_MS), { kind: 'accept', state: 'on_track' }],
    ['escalated', at(DUE_SOON_MS - 1), { kind: 'accept', state: 'due_soon' }],
    ['posted', at(-1), { kind: 'accept', state: 'overdue' }],
    ['accepted', at(3 * DUE_SOON_MS), { kind: 'first_touch', state: 'on_track' }],
    ['accepted', null, { kind: null, state: 'none' }],
    ['completed', null, { kind: null, state: 'none' }],
  ] as [HandoffStatus, string | null, object][])('%s due %s → %j', (status, due, expected) => {
    const a = affordancesFor(handoff(status, { slaDueAt: due }), CHANNEL, deps());
    expect(a.sla).toEqual({ dueAt: due === null ? null : due, ...expected });
  });

  it('actorIds: the owner, their leads and the admins', () => {
    const a = affordancesFor(handoff('posted'), CHANNEL, deps());
    expect(new Set(a.actorIds)).toEqual(new Set(['amelia', ...dir.leadsOf('amelia'), 'sam']));
    expect(a.actorIds[0]).toBe('amelia');
  });

  it('viewFor keeps the view and adds the affordances', () => {
    const v = handoff('posted');
    const audience: Audience = as('amelia');
    const out = viewFor(v, audience, deps());
    expect(out).toMatchObject(v);
    expect(out.affordances.offered).toEqual(['accept', 'reject', 'reassign']);
  });
});
