/**
 * The Slack card end to end over real HTTP: intake → card in the team channel and the owner's DM →
 * clicks signed as Slack signs them → core actions → cards updated in place + thread replies.
 * Slack itself is a local fake Web API that records every call.
 */
import { CARD_ACTIONS, SLACK_VIEWS, QUEUE_TARGET } from '../../../blocks/actions.js';
import { MODAL_INPUTS } from '../../../blocks/slack/modals.js';
import { reassignCandidates } from '../../../src/domain/affordances.js';
import { FORM, blockAction, blocksText, buttonIds, buttonValue, exampleOf, postSigned, startSlackHarness, viewSubmission, waitFor, type SlackHarness } from './helpers.js';

let h: SlackHarness;
let n = 0;

beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => {
  await h?.stop();
});

const SDR_CHANNEL = 'C0ECEXM8EYG';
const person = (id: string) => h.playbook.people.find((p) => p.id === id)!;
const slackId = (id: string) => person(id).slackUserId!;

/** A new handoff for a fresh account, owned by `to`, with its cards posted. */
async function intakeAndPost(to = 'amelia', packet: Record<string, unknown> = {}): Promise<{ id: number; cards: ReturnType<SlackHarness['fake']['cardsFor']> }> {
  const k = ++n; // taken before any await: intakes may run concurrently
  const req = await exampleOf(h.baton, 'marketing_to_sdr');
  req.account = { name: `Card Test ${k}`, domain: `card-test-${k}.example`, crmId: `CT-${k}` };
  req.to = to;
  Object.assign(req.packet, packet);
  const r = await h.baton.api('POST', '/api/handoffs', req);
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  const cards = await waitFor('both cards', () => (h.fake.cardsFor(id).length === 2 ? h.fake.cardsFor(id) : undefined));
  await waitFor('posted status', async () => (await h.baton.service.get(id, { events: false })).status === 'posted');
  return { id, cards };
}

async function click(user: string, actionId: string, value: string, channel = SDR_CHANNEL) {
  const a = blockAction(h.fake, { user, actionId, value, channel });
  const res = await postSigned(h.baton, a.body, FORM);
  return { ...res, ...a };
}

const responsesFor = (key: string) => h.fake.responses.filter((r) => r.key === key);

describe('card on intake', () => {
  it('posts the card in the receiving team channel and in the owner\'s DM, then marks the handoff posted', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const channels = cards.map((c) => c.channel).sort();
    expect(channels).toEqual([h.fake.dmChannelOf(slackId('amelia')), SDR_CHANNEL].sort());
    for (const c of cards) {
      const text = blocksText(c.blocks);
      expect(text).toContain('Marketing → SDR');
      expect(text).toContain(`Card Test ${n}`);
      expect(text).toContain(`<@${slackId('amelia')}>`); // owner
      expect(text).toMatch(/<!date\^\d+\^\{date_short_pretty\} at \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>/); // SLA in each reader's zone
      expect(text).toContain('ICP fit');
      expect(buttonIds(c.blocks)).toEqual([CARD_ACTIONS.accept.slack, CARD_ACTIONS.reject.slack, CARD_ACTIONS.reassign.slack, CARD_ACTIONS.details.slack]);
      const accept = (c.blocks as any[]).find((b) => b.type === 'actions').elements[0];
      expect(accept.style).toBe('primary');
      // Posting keeps the version: the card drawn before Baton recorded its post stays current.
      expect(accept.value).toBe(`${id}:1`);
      expect(c.updates).toBe(0);
      expect(c.metadata).toEqual({ event_type: 'baton_handoff', event_payload: { handoff_id: id } });
    }
    // The DM was opened through conversations.open, and nothing was posted twice.
    expect(h.fake.okCalls('conversations.open').some((c) => c.args.users === slackId('amelia'))).toBe(true);
    expect((await h.baton.service.get(id, { events: false })).version).toBe(1);
    const rows = await h.baton.db.sql.query<{ kind: string; message_id: string | null }>(`SELECT kind, message_id FROM card_ref WHERE handoff_id = ${id} AND platform = 'slack' ORDER BY kind`);
    expect(rows.map((r) => r.kind)).toEqual(['channel', 'dm']);
    expect(rows.every((r) => r.message_id)).toBe(true);
  });
});

describe('Accept from the card', () => {
  it('accepts, then updates the card in place in the channel and the DM and replies in each thread', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.accept.slack)!;
    const r = await click(slackId('amelia'), CARD_ACTIONS.accept.slack, value);
    expect(r.status).toBe(200);
    await waitFor('accepted', async () => (await h.baton.service.get(id, { events: false })).status === 'accepted');
    await waitFor('cards updated', () => cards.every((c) => blocksText(c.blocks).includes('*Accepted* by')));
    for (const c of cards) {
      expect(c.updates).toBeGreaterThanOrEqual(1);
      const text = blocksText(c.blocks);
      expect(text).toContain(`*Accepted* by <@${slackId('amelia')}>`);
      // Accept and Reject are gone; what can still be done stays.
      expect(buttonIds(c.blocks)).toEqual([CARD_ACTIONS.reassign.slack, CARD_ACTIONS.touch.slack, CARD_ACTIONS.complete.slack, CARD_ACTIONS.details.slack]);
    }
    // Still exactly two cards: updated, not re-posted.
    expect(h.fake.cardsFor(id)).toHaveLength(2);
    const replies = await waitFor('thread replies', () => {
      const all = cards.map((c) => h.fake.replies(c.channel, c.ts));
      return all.every((x) => x.length === 1) ? all : undefined;
    });
    for (const thread of replies) expect(thread[0]!.text).toContain('Accepted');
    // No ephemeral error for the owner.
    expect(responsesFor(r.responseKey)).toHaveLength(0);
  });
  it('a click on a card drawn before Baton recorded its own post applies (posting keeps the version)', async () => {
    const { id } = await intakeAndPost('amelia');
    expect((await h.baton.service.get(id, { events: false })).status).toBe('posted');
    const r = await click(slackId('amelia'), CARD_ACTIONS.accept.slack, `${id}:1`);
    expect(r.status).toBe(200);
    await waitFor('accepted', async () => (await h.baton.service.get(id, { events: false })).status === 'accepted');
    expect(responsesFor(r.responseKey)).toHaveLength(0);
  });
});

describe('Reject via the modal', () => {
  it('opens the modal with the transition\'s reasons, and a submission with reason + note rejects', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.reject.slack)!;
    const opened = h.fake.views.length;
    const r = await click(slackId('amelia'), CARD_ACTIONS.reject.slack, value);
    expect(r.status).toBe(200);
    const modal = await waitFor('reject modal', () => h.fake.views.slice(opened).find((v) => v.view.callback_id === SLACK_VIEWS.reject));
    expect(modal.triggerId).toBe(r.triggerId);
    const reasonBlock = (modal.view.blocks as any[]).find((b) => b.block_id === MODAL_INPUTS.rejectReason.block);
    const codes = reasonBlock.element.options.map((o: any) => o.value);
    expect(codes).toEqual(h.playbook.transitions.find((t) => t.id === 'marketing_to_sdr')!.rejectReasons.map((x) => x.code));

    // Without a note: the modal shows the error and nothing changes.
    const empty = await postSigned(
      h.baton,
      viewSubmission(h.fake, {
        user: slackId('amelia'),
        callbackId: SLACK_VIEWS.reject,
        privateMetadata: String(modal.view.private_metadata),
        values: { [MODAL_INPUTS.rejectReason.block]: { [MODAL_INPUTS.rejectReason.action]: { type: 'static_select', selected_option: { value: 'not_icp' } } }, [MODAL_INPUTS.rejectNote.block]: { [MODAL_INPUTS.rejectNote.action]: { type: 'plain_text_input', value: '   ' } } },
      }),
      FORM,
    );
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual({ response_action: 'errors', errors: { [MODAL_INPUTS.rejectNote.block]: 'Say what is missing or wrong.' } });
    expect((await h.baton.service.get(id, { events: false })).status).toBe('posted');

    const ok = await postSigned(
      h.baton,
      viewSubmission(h.fake, {
        user: slackId('amelia'),
        callbackId: SLACK_VIEWS.reject,
        privateMetadata: String(modal.view.private_metadata),
        values: {
          [MODAL_INPUTS.rejectReason.block]: { [MODAL_INPUTS.rejectReason.action]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'x' }, value: 'not_icp' } } },
          [MODAL_INPUTS.rejectNote.block]: { [MODAL_INPUTS.rejectNote.action]: { type: 'plain_text_input', value: 'Student project, not a buyer.' } },
        },
      }),
      FORM,
    );
    expect(ok.status).toBe(200);
    expect(ok.text).toBe(''); // an empty 200 closes the modal
    const view = await waitFor('rejected', async () => {
      const v = await h.baton.service.get(id);
      return v.status === 'rejected' ? v : undefined;
    });
    const rejected = view.events!.find((e) => e.type === 'rejected')!;
    expect(rejected).toMatchObject({ reasonCode: 'not_icp', note: 'Student project, not a buyer.', actor: expect.objectContaining({ id: 'amelia' }) });
    await waitFor('cards show the rejection', () => cards.every((c) => blocksText(c.blocks).includes('*Rejected* by')));
    for (const c of cards) {
      expect(blocksText(c.blocks)).toContain('Not our ideal customer profile');
      expect(buttonIds(c.blocks)).toEqual([]); // closed: nothing left to do
    }
    await waitFor('rejection reply', () => cards.every((c) => h.fake.replies(c.channel, c.ts).some((m) => m.text.includes('Rejected') && m.text.includes('Student project'))));
  });
});

describe('Reassign via the modal', () => {
  it('offers the queue and the one rule\'s people (as Teams does), reassigns, updates the cards and DMs the new owner the card', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.reassign.slack)!;
    const opened = h.fake.views.length;
    await click(slackId('amelia'), CARD_ACTIONS.reassign.slack, value);
    const modal = await waitFor('reassign modal', () => h.fake.views.slice(opened).find((v) => v.view.callback_id === SLACK_VIEWS.reassign));
    const options = (modal.view.blocks as any[]).find((b) => b.block_id === MODAL_INPUTS.reassignTo.block).element.options as any[];
    expect(options[0].value).toBe(QUEUE_TARGET);
    const values = options.map((o) => o.value);
    expect(values).toContain('sven');
    expect(values).not.toContain('amelia'); // not the current owner
    expect(values).not.toContain('tom'); // inactive
    // The core's rule (src/domain/affordances.ts): the SDR team and its lead, the queue and the
    // fallback owner, active, the owner left out, by name — the same list Teams and the console show.
    expect(values).not.toContain('rachel'); // another team's head: not a candidate any more
    const view = await h.baton.service.get(id, { events: false });
    const rule = reassignCandidates(view, { directory: h.baton.service.directory, transition: h.baton.service.transition(view.transition) });
    expect(values).toEqual([QUEUE_TARGET, ...rule.map((c) => c.id)]);
    expect(rule.map((c) => c.id)).toEqual(['oliver', 'sven']);

    const res = await postSigned(
      h.baton,
      viewSubmission(h.fake, {
        user: slackId('amelia'),
        callbackId: SLACK_VIEWS.reassign,
        privateMetadata: String(modal.view.private_metadata),
        values: {
          [MODAL_INPUTS.reassignTo.block]: { [MODAL_INPUTS.reassignTo.action]: { type: 'static_select', selected_option: { value: 'sven' } } },
          [MODAL_INPUTS.reassignNote.block]: { [MODAL_INPUTS.reassignNote.action]: { type: 'plain_text_input', value: 'APAC account, Sven covers it.' } },
        },
      }),
      FORM,
    );
    expect(res.status).toBe(200);
    await waitFor('reassigned', async () => (await h.baton.service.get(id, { events: false })).owner.id === 'sven');
    // The new owner gets the card in their DM; the old cards are updated in place.
    const svenDm = h.fake.dmChannelOf(slackId('sven'));
    await waitFor('card in the new owner\'s DM', () => h.fake.cardsFor(id).some((c) => c.channel === svenDm));
    await waitFor('old cards updated', () => cards.every((c) => blocksText(c.blocks).includes('*Reassigned* to')));
    for (const c of cards) expect(blocksText(c.blocks)).toContain(`<@${slackId('sven')}>`);
    expect(h.fake.cardsFor(id)).toHaveLength(3);
    await waitFor('reassign reply', () => cards.every((c) => h.fake.replies(c.channel, c.ts).some((m) => m.text.includes('Reassigned'))));
  });
});

describe('who may act', () => {
  it('a colleague who is not owner, lead or admin gets an ephemeral naming who can', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.accept.slack)!;
    const r = await click(slackId('sven'), CARD_ACTIONS.accept.slack, value);
    expect(r.status).toBe(200);
    const [reply] = await waitFor('ephemeral', () => (responsesFor(r.responseKey).length ? responsesFor(r.responseKey) : undefined));
    expect(reply!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(reply!.body.text)).toContain('Amelia Hughes (owner)');
    expect(String(reply!.body.text)).toContain('Oliver Bennett (their lead)');
    expect((await h.baton.service.get(id, { events: false })).status).toBe('posted');
  });

  it('someone whose Slack account is not in the playbook is told to ask RevOps', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.accept.slack)!;
    const r = await click('U0STRANGER9', CARD_ACTIONS.accept.slack, value);
    const [reply] = await waitFor('ephemeral', () => (responsesFor(r.responseKey).length ? responsesFor(r.responseKey) : undefined));
    expect(String(reply!.body.text)).toContain("You're not in the Baton playbook");
    expect(String(reply!.body.text)).toContain('U0STRANGER9');
    expect((await h.baton.service.get(id, { events: false })).status).toBe('posted');
  });
});

describe('double clicks and races', () => {
  it('a double click accepts once; the other click is told who accepted and when', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.accept.slack)!;
    const first = await click(slackId('amelia'), CARD_ACTIONS.accept.slack, value);
    const second = await click(slackId('amelia'), CARD_ACTIONS.accept.slack, value);
    expect([first.status, second.status]).toEqual([200, 200]);
    // Both are answered at once and handled concurrently, so either click may be the one that wins.
    const told = () => [...responsesFor(first.responseKey), ...responsesFor(second.responseKey)];
    const [reply] = await waitFor('ephemeral for the losing click', () => (told().length ? told() : undefined), 20_000);
    // The core's words: a stale version ("changed since you saw it") or, when both clicks were read
    // before either committed, the lost race ("Someone else changed this handoff first"); both name
    // who accepted and when, the time as a date token in the reader's zone.
    expect(String(reply!.body.text)).toMatch(/(changed since you saw it: accepted|Someone else changed this handoff first: it was accepted) by Amelia Hughes at <!date\^\d+\^/);
    await new Promise((r) => setTimeout(r, 300));
    expect(told()).toHaveLength(1);
    const events = (await h.baton.service.get(id)).events!.filter((e) => e.type === 'accepted');
    expect(events).toHaveLength(1);
  });

  it('20 concurrent Accept clicks (owner, leads, admin) → exactly one accept, 19 ephemerals naming who accepted, all acked fast', async () => {
    const { id, cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.accept.slack)!;
    // Everyone who may accept: the owner, her manager, the team lead/head, the admin.
    const allowed = ['amelia', 'oliver', 'rachel', 'sam'].map(slackId);
    const clicks = Array.from({ length: 20 }, (_, i) => click(allowed[i % allowed.length]!, CARD_ACTIONS.accept.slack, value));
    const results = await Promise.all(clicks);
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    const max = latencies[latencies.length - 1]!;
    console.log(`click → ack latency over 20 concurrent clicks: p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(max).toBeLessThan(3000); // Slack's limit

    await waitFor('accepted', async () => (await h.baton.service.get(id, { events: false })).status === 'accepted');
    const ephemerals = await waitFor('19 ephemerals', () => {
      const got = results.map((r) => responsesFor(r.responseKey)).filter((x) => x.length);
      return got.length >= 19 ? got : undefined;
    });
    expect(ephemerals).toHaveLength(19);
    for (const e of ephemerals) expect(String(e[0]!.body.text)).toMatch(/accepted by .+ at <!date\^\d+\^/); // the core's words: stale click, lost race or already accepted
    const view = await h.baton.service.get(id);
    expect(view.events!.filter((e) => e.type === 'accepted')).toHaveLength(1);
    expect(view.version).toBe(2); // routed 1 (posting keeps it) → accepted 2, nothing else
    await waitFor('one reply per card', () => cards.every((c) => h.fake.replies(c.channel, c.ts).filter((m) => m.text.includes('Accepted')).length === 1));
  });
});

describe('Full packet', () => {
  it('opens a modal with every field and the timeline', async () => {
    const { cards } = await intakeAndPost('amelia');
    const value = buttonValue(cards[0]!.blocks, CARD_ACTIONS.details.slack)!;
    const opened = h.fake.views.length;
    await click(slackId('sven'), CARD_ACTIONS.details.slack, value); // anyone may look
    const modal = await waitFor('details modal', () => h.fake.views.slice(opened).find((v) => v.view.callback_id === SLACK_VIEWS.details));
    const text = blocksText(modal.view.blocks as unknown[]);
    for (const label of ['ICP fit', 'Lifecycle stage', 'Intent / signals', 'Next-best action', 'Timeline', 'Routed', 'Posted']) expect(text).toContain(label);
  });
});
