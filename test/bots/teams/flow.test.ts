/**
 * The handoff flow in Teams, end to end over real HTTP: installs, text commands, the card posted
 * to the team channel and the owner's chat on intake, Universal Actions (accept, reject, reassign)
 * answered with the new card and mirrored into every posted card, refusals that name who can act,
 * and a burst of concurrent accepts of which exactly one wins.
 */
import { PlatformStore } from '../../../src/platformStore.js';
import { systemClock } from '../../../src/clock.js';
import { CARD_ACTIONS, TEAMS_INPUTS } from '../../../blocks/actions.js';
import { validateCard } from '../../blocks/teams/validate.js';
import {
  BOT_ID,
  TENANT,
  cardAction,
  cardOf,
  channelMessage,
  eventually,
  personalConversation,
  personalInstall,
  personalMessage,
  randomUserId,
  startTeamsRig,
  teamInstall,
  type TeamsTestRig,
  type TeamsUser,
} from './helpers.js';

const SDR_CHANNEL = '19:76631129f34369aad80b891baf90d0d3@thread.tacv2';
const people = {
  amelia: { id: '29:1799NksnRH9ucAUsdMlHUvTCQCyEZDz_TddJ8HyS5', name: 'Amelia Hughes', aadObjectId: 'fcf00fec-b91e-49e5-afe0-9f07cefe2a1f' },
  oliver: { id: '29:1kwtDDb-xHKas1VOqg6YYZYn9ZhyiA4uoRgnatmUd', name: 'Oliver Bennett' },
  sven: { id: '29:1A9a9SkpXz9w3QlY7Zkuvqdt7s8Stqcbnr3yBdGBL', name: 'Sven Lindqvist' },
  felix: { id: '29:181RKMGHZEM9YpvujA_C5Q52ryFlwRlOEVHzc0X0A', name: 'Felix Braun' },
  maya: { id: '29:1Bel31iEl2hpChYgCfrL1spNxnyVmihA_2O76UMFx', name: 'Maya Okafor' },
  rachel: { id: '29:1r7CmY-uCu3ZR1zTOlUcR64cXQLioDnkHIfxIq2HZ', name: 'Rachel Kim' },
  sam: { id: '29:1QGMrb9h-ImB-LK777pzNk8cL6j5IXAAjlsHUqJoU', name: 'Sam Torres' },
} satisfies Record<string, TeamsUser>;

let rig: TeamsTestRig;
let store: PlatformStore;

beforeAll(async () => {
  rig = await startTeamsRig();
  store = new PlatformStore(rig.baton.db, systemClock);
});
afterAll(async () => {
  await rig?.stop();
});

let accountSeq = 0;
/** A marketing → SDR handoff; region EMEA routes it to Amelia. */
async function intake(region = 'EMEA'): Promise<any> {
  accountSeq += 1;
  const res = await rig.baton.api('POST', '/api/handoffs', {
    transition: 'marketing_to_sdr',
    account: { name: `Acme ${accountSeq}`, domain: `acme${accountSeq}.com`, region },
    from: 'maya.okafor@northwind.example',
    packet: {
      icp_fit: 'A',
      lifecycle_stage: 'MQL',
      intent_signals: ['Visited pricing 3 times', '[click](http://evil.example)'],
      content_engaged: ['Webinar'],
      source: 'webinar',
      routing_reason: 'Tier A in EMEA',
      consent_given: true,
      consent_basis: 'opt_in',
      next_best_action: 'Call **today**',
    },
  });
  expect(res.status).toBe(201);
  return res.json;
}

/** Posted cards (sends) for a handoff, by conversation. */
function sendsFor(handoffId: number) {
  return rig.fake.ok('send').filter((c) => c.body?.attachments?.[0]?.content?.fallbackText?.startsWith(`Handoff #${handoffId} `));
}
function updatesFor(handoffId: number) {
  return rig.fake.ok('update').filter((c) => cardOf(c.body)?.fallbackText?.startsWith(`Handoff #${handoffId} `));
}
async function status(id: number): Promise<string> {
  return (await rig.baton.service.get(id)).status;
}

describe('installing the app', () => {
  it('stores the channel reference when added to a team, without posting anything', async () => {
    const res = await rig.post(teamInstall(rig.fake, people.oliver, SDR_CHANNEL));
    expect(res.status).toBe(200);
    expect(await store.conversation('teams', `channel:${SDR_CHANNEL}`)).toMatchObject({
      serviceUrl: rig.fake.serviceUrl,
      channelId: 'msteams',
      conversation: { id: SDR_CHANNEL, conversationType: 'channel', tenantId: TENANT },
      bot: { id: BOT_ID },
    });
    expect(rig.fake.ok('send').length + rig.fake.ok('reply').length).toBe(0);
  });

  it('stores the personal chat and says hello when a person installs it', async () => {
    const res = await rig.post(personalInstall(rig.fake, people.amelia));
    expect(res.status).toBe(200);
    expect(await store.conversation('teams', 'amelia')).toMatchObject({ conversation: personalConversation(people.amelia), user: { id: people.amelia.id } });
    const welcome = rig.fake.ok('reply').at(-1)!;
    expect(welcome.conversationId).toBe(personalConversation(people.amelia).id);
    const card = cardOf(welcome.body);
    expect(validateCard(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('Hi Amelia!');
  });
});

describe('text commands', () => {
  async function ask(user: TeamsUser, text: string): Promise<any> {
    const message = personalMessage(rig.fake, user, text);
    const res = await rig.post(message);
    expect(res.status).toBe(200);
    const replies = rig.fake.ok('reply').filter((r) => r.activityId === message.id);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.conversationId).toBe(personalConversation(user).id);
    const card = cardOf(replies[0]!.body);
    expect(validateCard(card)).toEqual([]);
    return card;
  }

  it('help lists the commands', async () => {
    const text = JSON.stringify(await ask(people.amelia, 'help'));
    for (const c of ['owner', 'mine', 'team', 'show', 'help']) expect(text).toContain(c);
  });

  it('mine, show and owner answer from the core', async () => {
    const h = await intake();
    expect(JSON.stringify(await ask(people.amelia, 'mine'))).toContain(`#${h.id} `);
    const shown = JSON.stringify(await ask(people.amelia, `show ${h.id}`));
    expect(shown).toContain('Full packet');
    expect(shown).toContain('Timeline');
    expect(JSON.stringify(await ask(people.oliver, `owner ${h.account.domain}`))).toContain('Account owners');
    expect(JSON.stringify(await ask(people.amelia, 'show 999999'))).toContain('There is no handoff #999999.');
  });

  it('answers an @mention in a channel and ignores channel chatter that does not mention it', async () => {
    const before = rig.fake.ok('reply').length;
    await rig.post(channelMessage(rig.fake, people.oliver, SDR_CHANNEL, SDR_CHANNEL, 'lunch anyone?', []));
    expect(rig.fake.ok('reply').length).toBe(before);
    const mention = channelMessage(rig.fake, people.oliver, SDR_CHANNEL, SDR_CHANNEL, '<at>Baton</at> team');
    await rig.post(mention);
    const reply = rig.fake.ok('reply').find((r) => r.activityId === mention.id)!;
    expect(rig.fake.ok('reply').length).toBe(before + 1);
    expect(reply.conversationId).toContain(SDR_CHANNEL);
    expect(JSON.stringify(cardOf(reply.body))).toContain('Open handoffs for SDR');
    // Mentioning someone else names them: Rachel asks about Oliver's team.
    const other = channelMessage(rig.fake, people.rachel, SDR_CHANNEL, SDR_CHANNEL, '<at>Baton</at> team <at>Oliver Bennett</at>', [
      { id: BOT_ID, name: 'Baton' },
      { id: people.oliver.id, name: 'Oliver Bennett' },
    ]);
    await rig.post(other);
    const answer = rig.fake.ok('reply').find((r) => r.activityId === other.id)!;
    expect(JSON.stringify(cardOf(answer.body))).toContain('Open handoffs for SDR');
    // A messageBack button on one of our cards ("My handoffs") carries no mention but a value.
    const click: Record<string, unknown> = { ...channelMessage(rig.fake, people.oliver, SDR_CHANNEL, SDR_CHANNEL, 'mine', []), value: { command: 'mine' } };
    await rig.post(click);
    const mine = rig.fake.ok('reply').find((r) => r.activityId === click.id)!;
    expect(JSON.stringify(cardOf(mine.body))).toContain('Your open handoffs');
  });

  // Linking by sign-in name is for people the playbook pins no Teams id for (identity.test.ts);
  // Jordan's is pinned, so another account reporting his address stays a stranger.
  it('does not take a Teams user missing from the playbook for a person whose Teams id is pinned, whatever email Teams reports', async () => {
    const unknownId = randomUserId();
    rig.fake.addMember({ id: unknownId, name: 'Jordan E.', email: 'Jordan.Ellis@northwind.example', userPrincipalName: 'jordan.ellis@northwind.example' });
    const user = { id: unknownId, name: 'Jordan E.' };
    expect(JSON.stringify(await ask(user, 'mine'))).toContain("Baton doesn't know your Teams account (Jordan E.)");
    expect(await store.conversation('teams', `user:${unknownId}`)).toBeUndefined();
    expect(await store.conversation('teams', 'jordan')).toBeUndefined();
  });

  it('tells someone Baton does not know how to get added', async () => {
    const card = await ask({ id: randomUserId(), name: 'Visitor' }, 'mine');
    expect(JSON.stringify(card)).toContain("Baton doesn't know your Teams account (Visitor)");
  });
});

describe('a routed handoff', () => {
  let h: any;
  let channelPost: any;
  let dmPost: any;

  it('is posted to the team channel (read-only, refresh for owner and leads) and to the owner\'s chat (actionable)', async () => {
    h = await intake();
    await eventually(() => sendsFor(h.id).length === 2, 'two posts');
    channelPost = sendsFor(h.id).find((c) => c.conversationId === SDR_CHANNEL);
    dmPost = sendsFor(h.id).find((c) => c.conversationId === personalConversation(people.amelia).id);
    expect(channelPost && dmPost).toBeTruthy();
    const channelCard = cardOf(channelPost.body);
    const dmCard = cardOf(dmPost.body);
    expect(validateCard(channelCard)).toEqual([]);
    expect(validateCard(dmCard)).toEqual([]);
    expect(channelCard.actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    expect(dmCard.actions.map((a: any) => a.verb ?? a.title)).toEqual([CARD_ACTIONS.accept.teams, 'Reject', 'Reassign', CARD_ACTIONS.details.teams]);
    // The owner, their lead (Oliver), the head of function (Rachel) and the admin (Sam) get per-user views.
    expect(channelCard.refresh.userIds).toEqual(expect.arrayContaining([people.amelia.id, people.oliver.id, people.rachel.id, people.sam.id]));
    expect(channelCard.refresh.action.verb).toBe(CARD_ACTIONS.refresh.teams);
    // Where the cards live is recorded with the ids Teams returned; the handoff is now posted.
    const cards = await eventually(async () => {
      const rows = await store.cards(h.id, 'teams');
      return rows.every((r) => r.messageId) ? rows : undefined;
    }, 'message ids recorded');
    expect(cards.map((c) => [c.kind, c.conversationId, c.messageId])).toEqual(
      expect.arrayContaining([
        ['channel', SDR_CHANNEL, channelPost.responseId],
        ['dm', personalConversation(people.amelia).id, dmPost.responseId],
      ]),
    );
    expect(cards).toHaveLength(2);
    await eventually(async () => (await status(h.id)) === 'posted', 'status posted');
    // Posting keeps the version: the cards as posted stay current, so none is redrawn.
    expect((await rig.baton.service.get(h.id)).version).toBe(1);
    expect(dmCard.actions.find((a: any) => a.verb === CARD_ACTIONS.accept.teams).data).toMatchObject({ handoffId: h.id, version: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(updatesFor(h.id)).toHaveLength(0);
  });

  it('refresh gives the owner the actionable view and a bystander the read-only one', async () => {
    const owner = await rig.post(cardAction(rig.fake, people.amelia, CARD_ACTIONS.refresh.teams, { handoffId: h.id }));
    expect(owner.status).toBe(200);
    expect(owner.json).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(owner.json.value.actions.map((a: any) => a.verb ?? a.title)).toContain(CARD_ACTIONS.accept.teams);
    const lead = await rig.post(cardAction(rig.fake, people.oliver, CARD_ACTIONS.refresh.teams, { handoffId: h.id }));
    expect(lead.json.value.actions.map((a: any) => a.verb ?? a.title)).toContain(CARD_ACTIONS.accept.teams);
    const bystander = await rig.post(cardAction(rig.fake, people.felix, CARD_ACTIONS.refresh.teams, { handoffId: h.id }));
    expect(bystander.json.value.actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    const details = await rig.post(cardAction(rig.fake, people.felix, CARD_ACTIONS.details.teams, { handoffId: h.id }));
    expect(validateCard(details.json.value)).toEqual([]);
    expect(JSON.stringify(details.json.value)).toContain('Timeline');
  });

  it('refuses a non-owner with a card naming who can act, a stranger with one naming who can help, and changes nothing', async () => {
    const view = await rig.baton.service.get(h.id);
    const res = await rig.post(cardAction(rig.fake, people.felix, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: view.version }));
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.json.value);
    expect(text).toContain("You can't accept this handoff — Amelia Hughes (owner), Oliver Bennett (their lead)");
    expect(validateCard(res.json.value)).toEqual([]);
    const nobody = await rig.post(cardAction(rig.fake, { id: randomUserId(), name: 'Guest' }, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: view.version }));
    expect(JSON.stringify(nobody.json.value)).toContain("Baton doesn't know your Teams account (Guest)");
    // Someone Baton does not know learns nothing about the handoff (not even who owns it), only
    // which admin can add them (issue 15: one visibility rule).
    expect(JSON.stringify(nobody.json.value)).toContain('ask a playbook admin: Sam Torres (sam.torres@northwind.example)');
    expect(JSON.stringify(nobody.json.value)).not.toContain('Amelia Hughes');
    expect(await status(h.id)).toBe('posted');
  });

  it('accept answers with the new card and updates every posted card in place; a second accept names who won', async () => {
    const view = await rig.baton.service.get(h.id);
    const updatesBefore = updatesFor(h.id).length;
    const res = await rig.post(cardAction(rig.fake, people.amelia, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: view.version }, personalConversation(people.amelia), dmPost.responseId));
    expect(res.status).toBe(200);
    expect(res.json.type).toBe('application/vnd.microsoft.card.adaptive');
    const card = res.json.value;
    expect(validateCard(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('Accepted by Amelia Hughes');
    expect(JSON.stringify(card)).toContain('You accepted this handoff.');
    expect(card.actions.map((a: any) => a.verb ?? a.title)).toEqual(['Reassign', CARD_ACTIONS.touch.teams, CARD_ACTIONS.complete.teams, CARD_ACTIONS.details.teams]);
    expect(await status(h.id)).toBe('accepted');

    await eventually(() => updatesFor(h.id).length >= updatesBefore + 2, 'both cards updated');
    const latest = updatesFor(h.id).slice(updatesBefore);
    const byConversation = new Map(latest.map((u) => [u.baseConversationId, u]));
    const channelUpdate = byConversation.get(SDR_CHANNEL)!;
    // The channel card is the root of its own thread: updated under the thread's conversation id.
    expect(channelUpdate.conversationId).toBe(`${SDR_CHANNEL};messageid=${channelPost.responseId}`);
    const dmUpdate = byConversation.get(personalConversation(people.amelia).id)!;
    expect(channelUpdate.activityId).toBe(channelPost.responseId);
    expect(dmUpdate.activityId).toBe(dmPost.responseId);
    expect(JSON.stringify(cardOf(channelUpdate.body))).toContain('Accepted by Amelia Hughes');
    expect(cardOf(channelUpdate.body).actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    expect(JSON.stringify(cardOf(dmUpdate.body))).toContain(CARD_ACTIONS.touch.teams);

    const again = await rig.post(cardAction(rig.fake, people.oliver, CARD_ACTIONS.accept.teams, { handoffId: h.id }));
    expect(JSON.stringify(again.json.value)).toMatch(/already accepted by Amelia Hughes at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    // A stale card (an older version) is refused with what changed.
    const stale = await rig.post(cardAction(rig.fake, people.amelia, CARD_ACTIONS.touch.teams, { handoffId: h.id, version: view.version }));
    expect(JSON.stringify(stale.json.value)).toContain('This handoff changed since you saw it');
  });

  it('`owner <account>` now names Amelia for the SDR stage', async () => {
    const message = personalMessage(rig.fake, people.oliver, `owner ${h.account.domain}`);
    await rig.post(message);
    const reply = rig.fake.ok('reply').find((r) => r.activityId === message.id)!;
    expect(JSON.stringify(cardOf(reply.body))).toMatch(/Sales development \(SDR\/BDR\):\*\* Amelia Hughes/);
  });
});

describe('reject and reassign from the card', () => {
  it('reject needs a reason and a note, then closes the handoff and updates the cards', async () => {
    const h = await intake();
    await eventually(async () => (await status(h.id)) === 'posted', 'posted');
    const v = (await rig.baton.service.get(h.id)).version;
    const missing = await rig.post(cardAction(rig.fake, people.amelia, CARD_ACTIONS.reject.teams, { handoffId: h.id, version: v, [TEAMS_INPUTS.rejectReason]: 'not_icp' }));
    expect(JSON.stringify(missing.json.value)).toContain('The reject request is incomplete. note: a note is required when rejecting (what is missing or wrong).');
    expect(await status(h.id)).toBe('posted');
    const updatesBefore = updatesFor(h.id).length;
    const res = await rig.post(cardAction(rig.fake, people.amelia, CARD_ACTIONS.reject.teams, { handoffId: h.id, version: v, [TEAMS_INPUTS.rejectReason]: 'not_icp', [TEAMS_INPUTS.rejectNote]: 'Student **project**' }));
    expect(JSON.stringify(res.json.value)).toContain('Rejected by Amelia Hughes');
    expect(JSON.stringify(res.json.value)).toContain('Not our ideal customer profile');
    const events = await rig.baton.service.events(h.id);
    expect(events.at(-1)).toMatchObject({ type: 'rejected', reasonCode: 'not_icp', note: 'Student **project**', actor: { id: 'amelia' } });
    const rejected = () => updatesFor(h.id).slice(updatesBefore).filter((u) => JSON.stringify(cardOf(u.body)).includes('Rejected by Amelia Hughes'));
    await eventually(() => rejected().length === 2, 'both cards updated');
    // Closed: nobody gets buttons any more, the owner included.
    for (const u of rejected()) expect(cardOf(u.body).actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
  });

  it('reassign to a person moves ownership: the new owner gets the card in a new chat, the old owner\'s card turns read-only', async () => {
    const h = await intake();
    await eventually(async () => (await status(h.id)) === 'posted', 'posted');
    const v = (await rig.baton.service.get(h.id)).version;
    const createdBefore = rig.fake.ok('createConversation').length;
    const res = await rig.post(cardAction(rig.fake, people.amelia, CARD_ACTIONS.reassign.teams, { handoffId: h.id, version: v, [TEAMS_INPUTS.reassignTo]: 'sven', [TEAMS_INPUTS.reassignNote]: 'APAC account' }));
    expect(JSON.stringify(res.json.value)).toContain('Reassigned to Sven Lindqvist by Amelia Hughes');
    // Amelia, no longer owner, sees the read-only view in her reply.
    expect(res.json.value.actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    expect((await rig.baton.service.get(h.id)).owner.id).toBe('sven');

    // Sven never wrote to the bot: his chat is created from his Teams id and the known service URL.
    const created = await eventually(() => rig.fake.ok('createConversation').slice(createdBefore)[0], 'a chat created for Sven');
    expect(created.body).toMatchObject({ isGroup: false, members: [{ id: people.sven.id }], tenantId: TENANT, bot: { id: BOT_ID } });
    const svenPost = await eventually(() => sendsFor(h.id).find((s) => s.conversationId?.startsWith('a:') && s.conversationId !== personalConversation(people.amelia).id), 'card in Sven\'s chat');
    expect(cardOf(svenPost.body).actions.map((a: any) => a.verb ?? a.title)).toContain(CARD_ACTIONS.accept.teams);
    const ameliaUpdate = await eventually(
      () => updatesFor(h.id).filter((u) => u.conversationId === personalConversation(people.amelia).id && JSON.stringify(cardOf(u.body)).includes('Reassigned to Sven')).at(-1),
      'Amelia\'s card updated',
    );
    expect(cardOf(ameliaUpdate.body).actions.map((a: any) => a.verb)).toEqual([CARD_ACTIONS.details.teams]);
    expect((await store.cards(h.id, 'teams')).filter((c) => c.kind === 'dm')).toHaveLength(2);
  });

  it('reassign to the next in the queue', async () => {
    const h = await intake();
    await eventually(async () => (await status(h.id)) === 'posted', 'posted');
    const v = (await rig.baton.service.get(h.id)).version;
    const res = await rig.post(cardAction(rig.fake, people.oliver, CARD_ACTIONS.reassign.teams, { handoffId: h.id, version: v, [TEAMS_INPUTS.reassignTo]: 'queue', [TEAMS_INPUTS.reassignNote]: 'Amelia is out' }));
    expect(JSON.stringify(res.json.value)).toContain('You reassigned this handoff.');
    expect((await rig.baton.service.get(h.id)).owner.id).not.toBe('amelia');
  });
});

describe('concurrency', () => {
  it('20 concurrent accepts: exactly one is applied, the others are told who accepted', async () => {
    const h = await intake();
    await eventually(async () => (await status(h.id)) === 'posted', 'posted');
    const v = (await rig.baton.service.get(h.id)).version;
    const clickers = [people.amelia, people.oliver, people.rachel, people.sam];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => rig.post(cardAction(rig.fake, clickers[i % clickers.length]!, CARD_ACTIONS.accept.teams, { handoffId: h.id, version: v }))),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const won = responses.filter((r) => JSON.stringify(r.json.value).includes('You accepted this handoff.'));
    expect(won).toHaveLength(1);
    const accepted = (await rig.baton.service.events(h.id)).filter((e) => e.type === 'accepted');
    expect(accepted).toHaveLength(1);
    const winner = accepted[0]!.actor!.name;
    for (const r of responses.filter((x) => !won.includes(x))) {
      expect(JSON.stringify(r.json.value)).toMatch(new RegExp(`(already accepted|changed since you saw it: accepted|it was accepted) by ${winner}`));
    }
  });
});
