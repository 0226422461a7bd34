/**
 * The adapter contract (issue #16 item 2): the same scenarios through Slack, Teams and the console,
 * each driven over its own wire (./slack.ts, ./teams.ts, ./console.ts) against one running Baton.
 * Where the surfaces must agree with the core rather than only with each other — the copy of a
 * refusal, the conflict text of a stale click — the core's own answer (the HTTP API, ./rig.ts) is
 * the reference.
 *
 * Who is who (./rig.ts): the owner Oona (own1a) of receiving team r1, her lead Lee (lead1), the
 * sender Sally, Adam the admin, Olga (an active person with no part in the handoff), Ivy (an
 * inactive member of r1) and a stranger the playbook does not know.
 */
import { jest } from '@jest/globals';
import { NAME, PERSON, useContractRig, type HandoffState, type ViewerRole } from './rig.js';
import { consoleSurface } from './console.js';
import { slackSurface } from './slack.js';
import { teamsSurface } from './teams.js';
import type { CardActionName, Surface } from './surfaces.js';

jest.setTimeout(60_000);

const rig = useContractRig();
const SURFACES: Surface[] = [slackSurface(rig), teamsSurface(rig), consoleSurface(rig)];

type Status = 'posted' | 'accepted' | 'closed';
/** The card actions the lifecycle allows in each status (src/domain/lifecycle.ts). */
const STATUS_ACTIONS: Record<Status, CardActionName[]> = { posted: ['accept', 'reject', 'reassign'], accepted: ['reassign', 'touch', 'complete'], closed: [] };
/** Who may take the card actions: the owner, their lead, an admin. */
const MAY_ACT: readonly ViewerRole[] = ['owner', 'ownerLead', 'admin'];
const expectedOffer = (viewer: ViewerRole, status: Status): CardActionName[] => (MAY_ACT.includes(viewer) ? STATUS_ACTIONS[status] : []);

/** The arguments a person fills in for each action (reject and reassign have forms). */
const FORM: Record<CardActionName, { reasonCode?: string; note?: string; to?: string }> = {
  accept: {},
  reject: { reasonCode: 'not_ready', note: 'No budget owner named yet' },
  reassign: { to: 'own1b', note: 'Otto covers this territory' },
  touch: {},
  complete: {},
};

/** One handoff per status, shared by the read-only scenarios (refused clicks change nothing). */
const shared: Partial<Record<Status, HandoffState>> = {};
beforeAll(async () => {
  for (const s of ['posted', 'accepted', 'closed'] as const) shared[s] = await rig.handoff(s);
});

/**
 * The per-viewer offer. A 'viewer' surface must offer exactly what the policy allows this viewer;
 * a 'shared' one (Slack's channel card) must offer what the status allows, and answers per viewer
 * only on a click (checkRefusedWhenNotAllowed).
 */
async function checkOffer(surface: Surface, viewer: ViewerRole, status: Status): Promise<void> {
  const h = shared[status]!;
  const offer = await surface.offeredActions(h.id, viewer);
  expect(offer.actions).toEqual(offer.scope === 'viewer' ? expectedOffer(viewer, status) : STATUS_ACTIONS[status]);
}

/**
 * Every action of the status this viewer may not take is refused when they click it anyway (on a
 * shared card, or a card kept from before), with the core's copy, and changes nothing.
 */
async function checkRefusedWhenNotAllowed(surface: Surface, viewer: ViewerRole, status: Status): Promise<void> {
  const h = shared[status]!;
  for (const action of STATUS_ACTIONS[status].filter((a) => !expectedOffer(viewer, status).includes(a))) {
    const got = await surface.act(h.id, viewer, action, { version: h.version, ...FORM[action] });
    const core = await rig.reference(h.id, { action, actor: PERSON[viewer as keyof typeof PERSON], expectedVersion: h.version, ...FORM[action] });
    expect(core.code).toBe('forbidden');
    expect({ action, outcome: got.outcome, message: got.message }).toEqual({ action, outcome: 'refused', message: core.message });
  }
  expect((await rig.readState(h.id)).version).toBe(h.version);
}

describe.each(SURFACES.map((s) => [s.name, s] as const))('%s', (_name, surface) => {
  describe('offers each viewer the actions the policy allows', () => {
    it.each([
      ['posted', 'owner'],
      ['posted', 'ownerLead'],
      ['posted', 'admin'],
      ['accepted', 'owner'],
      ['accepted', 'ownerLead'],
      ['accepted', 'admin'],
      ['closed', 'owner'],
      ['closed', 'ownerLead'],
      ['closed', 'sender'],
      ['closed', 'admin'],
      ['closed', 'unrelated'],
    ] as const)('%s, to the %s', async (status, viewer) => {
      await checkOffer(surface, viewer, status);
    });

    it.each([
      ['posted', 'sender'],
      ['posted', 'unrelated'],
      ['accepted', 'sender'],
      ['accepted', 'unrelated'],
    ] as const)('%s: the %s, who may not act, is refused with the core\'s copy on clicking any of them', async (status, viewer) => {
      await checkRefusedWhenNotAllowed(surface, viewer, status);
    });
  });

  describe('reassign candidates', () => {
    it('offer the queue first and only active people other than the owner, the same to every viewer who may reassign', async () => {
      const h = await rig.handoff('posted');
      const asOwner = await surface.reassignCandidates(h.id, 'owner');
      expect(asOwner.queue?.index).toBe(0);
      expect(asOwner.people).not.toContain(PERSON.owner);
      expect(asOwner.people).not.toContain(PERSON.inactive);
      for (const id of asOwner.people) expect(Object.keys(NAME)).toContain(id);
      expect(asOwner.people).toContain('own1b');
      expect(await surface.reassignCandidates(h.id, 'admin')).toEqual(asOwner);
    });
  });

  describe('refusals', () => {
    it('a non-owner who accepts is refused with the core\'s copy, naming who can', async () => {
      const h = shared.posted!;
      const got = await surface.act(h.id, 'sender', 'accept', { version: h.version });
      const core = await rig.reference(h.id, { action: 'accept', actor: PERSON.sender, expectedVersion: h.version });
      expect(got.outcome).toBe('refused');
      expect(got.message).toBe(core.message);
      expect(got.message).toContain(`${NAME.own1a} (owner), ${NAME.lead1} (their lead), a playbook admin`);
      expect((await rig.readState(h.id)).version).toBe(h.version);
    });

    it.each(['stranger', 'inactive'] as const)('when the %s accepts: refused, and told nothing of the handoff', async (viewer) => {
      const h = await rig.handoff('posted');
      const got = await surface.act(h.id, viewer, 'accept', { version: h.version });
      expect(got.outcome).toBe('refused');
      for (const secret of [h.tag, h.account, h.domain, NAME.own1a, NAME.sally]) expect(got.raw).not.toContain(secret);
      const after = await rig.readState(h.id);
      expect({ status: after.status, version: after.version }).toEqual({ status: 'posted', version: h.version });
    });

    it('a stale click is a conflict that names who won, and changes nothing', async () => {
      const h = await rig.handoff('posted');
      await rig.platforms.baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: PERSON.admin });
      const won = await rig.readState(h.id);
      const got = await surface.act(h.id, 'owner', 'accept', { version: h.version });
      expect(got.outcome).toBe('conflict');
      expect(got.message).toContain(NAME.adam);
      expect(await rig.readState(h.id)).toEqual(won);
    });
  });

  describe('outcomes', () => {
    it('accept by the owner: accepted, one version on, an accepted event by her', async () => {
      const h = await rig.handoff('posted');
      const got = await surface.act(h.id, 'owner', 'accept', { version: h.version });
      expect(got.outcome).toBe('applied');
      const s = await rig.readState(h.id);
      expect({ status: s.status, version: s.version, owner: s.ownerId, event: s.lastEvent }).toEqual({
        status: 'accepted',
        version: h.version + 1,
        owner: PERSON.owner,
        event: { type: 'accepted', actorId: PERSON.owner, reasonCode: null, note: null },
      });
    });

    it('reject with a reason and a note: rejected, both recorded', async () => {
      const h = await rig.handoff('posted');
      const got = await surface.act(h.id, 'owner', 'reject', { version: h.version, ...FORM.reject });
      expect(got.outcome).toBe('applied');
      const s = await rig.readState(h.id);
      expect({ status: s.status, version: s.version, owner: s.ownerId, event: s.lastEvent }).toEqual({
        status: 'rejected',
        version: h.version + 1,
        owner: PERSON.owner,
        event: { type: 'rejected', actorId: PERSON.owner, reasonCode: 'not_ready', note: FORM.reject.note },
      });
    });

    it('reassign to a candidate with a reason: reassigned, the new owner, the reason recorded', async () => {
      const h = await rig.handoff('posted');
      expect((await surface.reassignCandidates(h.id, 'owner')).people).toContain('own1b');
      const got = await surface.act(h.id, 'owner', 'reassign', { version: h.version, ...FORM.reassign });
      expect(got.outcome).toBe('applied');
      const s = await rig.readState(h.id);
      expect({ status: s.status, version: s.version, owner: s.ownerId, event: s.lastEvent }).toEqual({
        status: 'reassigned',
        version: h.version + 1,
        owner: 'own1b',
        event: { type: 'reassigned', actorId: PERSON.owner, reasonCode: null, note: FORM.reassign.note },
      });
    });
  });

  /*
   * Scenarios that failed on the code of 2026-12-06, before issue #16: each comment names the
   * disagreement it caught (and the fix) so a regression reads as what it is.
   */
  describe('where the surfaces used to disagree', () => {
    // Was: the console's act bar drew every action the status allows, for whoever it
    // previewed (bots/console/views.ts `actions` ignored the viewer), while Teams, for the same
    // viewer, drew none. Now both draw the core's affordances; the console shows the rest disabled.
    it.each([
      ['posted', 'sender'],
      ['posted', 'unrelated'],
      ['accepted', 'sender'],
      ['accepted', 'unrelated'],
    ] as const)('%s: offers the %s, who may not act, no action', async (status, viewer) => {
      await checkOffer(surface, viewer, status);
    });

    // Was: each surface had its own candidate rule (Slack every active person; Teams and the
    // console the receiving team and its lead, leaving out the queue member Quinn and the
    // fallback owner Fern). The one rule, src/domain/affordances.ts: the
    // receiving team's active people and lead, plus the transition's queue and fallback owner,
    // the owner left out, by name.
    it('reassign candidates are the receiving team, its lead, the queue and the fallback owner, by name', async () => {
      const h = await rig.handoff('posted');
      const got = await surface.reassignCandidates(h.id, 'owner');
      expect(got.people.map((id) => NAME[id])).toEqual([NAME.fern, NAME.lead1, NAME.own1b, NAME.quinn]);
    });

    // Was: "Next in the queue" on Slack and the console, "Next in queue" on Teams. Now the
    // affordances' queueLabel everywhere.
    it('the queue option reads "Next in the queue"', async () => {
      const h = shared.posted!;
      expect((await surface.reassignCandidates(h.id, 'owner')).queue?.label).toBe('Next in the queue');
    });

    // Was: Slack and Teams told a stranger or an inactive person the policy's stranger
    // message (src/domain/policy.ts strangerMessage: not in the playbook, which admin can add
    // them); the console's actions answered 422 unknown_actor or 403 inactive_actor, worded apart.
    // Now the console asks the policy (src/access.ts) before acting as the person it previews.
    it.each([
      ['stranger', "Baton doesn't know "],
      ['inactive', 'is marked inactive in the playbook.'],
    ] as const)('when the %s accepts: told the policy\'s stranger message', async (viewer, why) => {
      const h = await rig.handoff('posted');
      const got = await surface.act(h.id, viewer, 'accept', { version: h.version });
      expect(got.message).toContain(why);
      expect(got.message).toMatch(/^Baton doesn't know .*You're not in the Baton playbook, so Baton shows you no handoffs and you can't act on them\. To be added, ask a playbook admin: Adam Admin \(adam@rel\.example\)\.$/);
    });

    // Was: Slack wrote its own conflict text ("This handoff was already accepted by …
    // at <date>. Nothing was changed.", blocks/slack/notices.ts buildRefusal) where Teams and the
    // console passed on the core's. Now Slack shows the core's words, the time as a date token.
    it('a stale click is told the core\'s conflict text', async () => {
      const h = await rig.handoff('posted');
      await rig.platforms.baton.api('POST', `/api/handoffs/${h.id}/actions`, { action: 'accept', actor: PERSON.admin });
      const got = await surface.act(h.id, 'owner', 'accept', { version: h.version });
      const core = await rig.reference(h.id, { action: 'accept', actor: PERSON.owner, expectedVersion: h.version });
      expect(core.code).toBe('stale_version');
      expect(got.message).toBe(core.message);
    });

    // Was: a reassign left routingReason (the cards' "Why this owner")
    // as the intake's routing on every surface. Now it says who moved it and why.
    it('after a reassign, routingReason says who reassigned it and why', async () => {
      const h = await rig.handoff('posted');
      const got = await surface.act(h.id, 'owner', 'reassign', { version: h.version, ...FORM.reassign });
      expect(got.outcome).toBe('applied');
      const s = await rig.readState(h.id);
      expect(s.routingReason).toContain(NAME.own1a);
      expect(s.routingReason).toContain(FORM.reassign.note!);
    });
  });
});
