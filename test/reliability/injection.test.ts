/**
 * Scenario 7 — injection. Packet values, account names, CRM ids and notes typed by people carry
 * Slack control sequences (`<!channel>`, `<@U…>`, `<https://…|label>`, `&lt;`), Teams markdown
 * and markup (`**x**`, `[a](http://…)`, `<at>`, `<script>`, `{{DATE()}}`) and SQL metacharacters.
 *  - Slack: in every message, update, ephemeral answer, modal and Home view the fake received,
 *    no mrkdwn text (nor a message's notification text) contains any of them raw; they show escaped.
 *  - Teams: in every card sent, updated or returned, they only appear inside RichTextBlock text
 *    runs (never markdown), with tags and date functions defused.
 *  - SQL: the values round-trip byte for byte, queries with SQL in their parameters find nothing
 *    they should not, and every table is still there with the rows it had.
 */
import { jest } from '@jest/globals';
import { CARD_ACTIONS, SLACK_VIEWS, encodeSlackButtonValue } from '../../blocks/actions.js';
import { MODAL_INPUTS } from '../../blocks/slack/modals.js';
import { diffCounts, recordFigures, rowCounts, sleep, tableNames, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, slackChannel, slackUser } from './playbook.js';
import { FORM, cardOf, slackClick, slackEvent, slackSubmit, useInstalledRig, teamsFrom, teamsInvoke, teamsMessage } from './platforms.js';

jest.setTimeout(120_000);

/** Slack control sequences that would ping people or disguise a link if they reached mrkdwn raw. */
const SLACK_RAW = ['<!channel>', '<!here>', '<!everyone>', '<@U0EVIL0001>', '<#C0EVIL0001>', '<!subteam^S0EVIL>', '<https://evil.example|bank>', '<mailto:x@evil.example|support>'];
const SLACK_TEXT = `Call now ${SLACK_RAW.join(' ')} literal &lt; and &amp;gt; done`;
/** Teams markdown and markup; "EVIL" marks the injected part, which must never reach markdown. */
const TEAMS_TEXT = 'See **EVILBOLD** [EVILLINK](http://evil.example) <at>EVILAT</at> <script>EVILSCRIPT()</script> {{DATE(2020-01-01T00:00:00Z, SHORT)}}EVILDATE _EVILITALIC_ # EVILHEADING';
const SQL_TEXT = `'); DROP TABLE handoff;-- "quoted" \\ backslash $1 %s ; DELETE FROM account WHERE '1'='1`;

const playbook = reliabilityPlaybook({ teams: 1, timed: { accept: '3s', nudgesAt: [0.5] } });
const rig = useInstalledRig(playbook);

async function drained(): Promise<boolean> {
  const [r] = await rig.baton.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE delivered_at IS NULL AND failed_at IS NULL`);
  return r!.n === '0';
}

async function postedHandoff(body: Record<string, unknown>): Promise<{ id: number; version: number }> {
  const r = await rig.baton.api('POST', '/api/handoffs', body);
  expect(r.status).toBe(201);
  const id = r.json.id as number;
  const v = await until('posted', async () => {
    const x = await rig.baton.service.get(id, { events: false });
    return x.status === 'posted' ? x : undefined;
  });
  return { id, version: v.version };
}

// ---------------------------------------------------------------------------------------------
// What Slack parses as mrkdwn in what Baton sends

interface MrkdwnText {
  where: string;
  text: string;
}

/** Every string Slack would parse as mrkdwn in a message/view payload: `text` of a message, mrkdwn text objects. */
function mrkdwnTexts(where: string, payload: Record<string, unknown>): MrkdwnText[] {
  const out: MrkdwnText[] = [];
  if (typeof payload.text === 'string' && payload.mrkdwn !== false) out.push({ where: `${where}.text`, text: payload.text });
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push({ where: path, text: o.text });
      for (const [k, x] of Object.entries(o)) walk(x, `${path}.${k}`);
    }
  };
  walk(payload.blocks, `${where}.blocks`);
  walk((payload.view as Record<string, unknown> | undefined)?.blocks, `${where}.view.blocks`);
  return out;
}

function everythingSentToSlack(): MrkdwnText[] {
  const out: MrkdwnText[] = [];
  for (const c of rig.slack.calls) {
    if (['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'views.open', 'views.publish'].includes(c.method)) out.push(...mrkdwnTexts(`${c.method}@${c.at}`, c.args));
  }
  for (const r of rig.slack.responses) out.push(...mrkdwnTexts(`response_url ${r.key}`, r.body));
  return out;
}

// ---------------------------------------------------------------------------------------------
// What Teams renders as markdown in what Baton sends

interface CardText {
  markdown: string[];
  runs: string[];
}

function cardTexts(card: unknown): CardText {
  const markdown: string[] = [];
  const runs: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'TextBlock' && typeof o.text === 'string') markdown.push(o.text);
      if (o.type === 'TextRun' && typeof o.text === 'string') runs.push(o.text);
      if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as { title?: string; value?: string }[]) markdown.push(String(f.title ?? ''), String(f.value ?? ''));
      if (typeof o.type === 'string' && o.type.startsWith('Action.') && typeof o.title === 'string') markdown.push(o.title);
      if (o.type === 'Input.ChoiceSet' && Array.isArray(o.choices)) for (const c of o.choices as { title?: string }[]) markdown.push(String(c.title ?? ''));
      for (const [k, x] of Object.entries(o)) if (k !== 'text' || o.type !== 'TextRun') walk(x);
    }
  };
  walk(card);
  return { markdown, runs };
}

function everyTeamsCard(extra: unknown[]): unknown[] {
  return [...rig.teams.calls.filter((c) => c.status < 300 && ['send', 'reply', 'update', 'createConversation'].includes(c.kind)).map((c) => cardOf(c.body?.activity ?? c.body)).filter(Boolean), ...extra];
}

it('Slack mrkdwn and Teams markdown in packet values, account names and notes stay inert everywhere', async () => {
  const evil = { note: `${SLACK_TEXT}\n${TEAMS_TEXT}`, title: `<!channel> **EVILTITLE** [x](http://evil.example)`, tags: ['<!everyone>', '<@U0EVIL0001>', '[EVILTAG](http://evil.example)', '<at>EVILAT</at>'] };
  const account = { name: `Acme <!channel> **EVILACCOUNT** <at>EVILAT</at>`, crmId: `<@U0EVIL0001>[EVILCRM](http://evil.example)` };
  const teamsAnswers: unknown[] = [];

  // A handoff whose card, thread replies, details modal, reject note and refusal all carry it.
  const a = await postedHandoff(intakeBody({ team: 1, to: 'own1a', packet: evil, account }));
  const details = slackClick(rig, { user: slackUser('own1a'), actionId: CARD_ACTIONS.details.slack, value: encodeSlackButtonValue(a.id, a.version), channel: slackChannel(1) });
  expect((await rig.slackPost(details.body, FORM)).status).toBe(200);
  await until('the Full packet modal', () => rig.slack.views.some((v) => v.method === 'views.open' && JSON.stringify(v.view).includes(`#${a.id}`)));
  teamsAnswers.push((await rig.teamsPost(teamsInvoke(rig, teamsFrom('own1a'), CARD_ACTIONS.details.teams, { handoffId: a.id }))).json?.value);
  const values = {
    [MODAL_INPUTS.rejectReason.block]: { [MODAL_INPUTS.rejectReason.action]: { type: 'static_select', selected_option: { value: 'not_ready' } } },
    [MODAL_INPUTS.rejectNote.block]: { [MODAL_INPUTS.rejectNote.action]: { type: 'plain_text_input', value: `${SLACK_TEXT} ${TEAMS_TEXT}` } },
  };
  // A stranger's refusal quotes nothing of theirs; the owner's rejection note goes into the thread.
  expect((await rig.slackPost(slackSubmit(rig, { user: slackUser('olga'), callbackId: SLACK_VIEWS.reject, privateMetadata: JSON.stringify({ handoffId: a.id, version: a.version, channelId: slackChannel(1) }), values }), FORM)).status).toBe(200);
  expect((await rig.slackPost(slackSubmit(rig, { user: slackUser('own1a'), callbackId: SLACK_VIEWS.reject, privateMetadata: JSON.stringify({ handoffId: a.id, version: a.version, channelId: slackChannel(1) }), values }), FORM)).status).toBe(200);
  await until('rejected', async () => (await rig.baton.service.get(a.id, { events: false })).status === 'rejected');

  // One rejected on Teams with the note, one accepted there; a timed one for the SLA reminder and escalation.
  const b = await postedHandoff(intakeBody({ team: 1, to: 'own1b', packet: evil, account: { ...account, name: `${account.name} B` } }));
  teamsAnswers.push((await rig.teamsPost(teamsInvoke(rig, teamsFrom('own1b'), CARD_ACTIONS.reject.teams, { handoffId: b.id, version: b.version, rejectReason: 'not_ready', rejectNote: `${SLACK_TEXT} ${TEAMS_TEXT}` }))).json?.value);
  const c = await postedHandoff(intakeBody({ transition: 'timed_r1', to: 'own1a', packet: evil, account: { ...account, name: `${account.name} C` } }));
  await until('the SLA reminder and escalation', async () => {
    const e = await rig.baton.service.events(c.id);
    return e.some((x) => x.type === 'nudged') && e.some((x) => x.type === 'escalated');
  }, 20_000);
  teamsAnswers.push((await rig.teamsPost(teamsInvoke(rig, teamsFrom('own1a'), CARD_ACTIONS.accept.teams, { handoffId: c.id, version: (await rig.baton.service.get(c.id, { events: false })).version }))).json?.value);
  // Commands and the Home tab list them too.
  await rig.teamsPost(teamsMessage(rig, teamsFrom('own1a'), 'mine'));
  await rig.teamsPost(teamsMessage(rig, teamsFrom('own1a'), `show ${a.id}`));
  expect((await rig.slackPost(slackEvent(rig, 'Ev0INJECT01', { type: 'app_home_opened', user: slackUser('lead1'), channel: 'D0X', tab: 'home', event_ts: '1.1' }), 'application/json')).status).toBe(200);
  await until('the Home tab', () => rig.slack.views.some((v) => v.method === 'views.publish'));
  await until('every delivery done', drained, 30_000);
  await sleep(300);

  // ---- Slack
  const texts = everythingSentToSlack();
  const leaks = texts.flatMap((t) => SLACK_RAW.filter((raw) => t.text.includes(raw)).map((raw) => `${t.where}: ${raw}`));
  expect(leaks).toEqual([]);
  // The values were shown (escaped), not dropped: Slack renders &lt;!channel&gt; as the literal text.
  const all = texts.map((t) => t.text).join('\n');
  expect(all).toContain('&lt;!channel&gt;');
  expect(all).toContain('&lt;@U0EVIL0001&gt;');
  expect(all).toContain('&lt;https://evil.example|bank&gt;');
  // A literal "&lt;" someone typed reads as "&lt;", not "<".
  expect(all).toContain('&amp;lt;');

  // ---- Teams
  const cards = everyTeamsCard(teamsAnswers);
  expect(cards.length).toBeGreaterThan(8);
  const markdownLeaks: string[] = [];
  const runs: string[] = [];
  for (const card of cards) {
    const t = cardTexts(card);
    for (const m of t.markdown) if (/EVIL|<!channel>|<@U0EVIL/.test(m)) markdownLeaks.push(m.slice(0, 200));
    runs.push(...t.runs);
  }
  expect(markdownLeaks).toEqual([]);
  const evilRuns = runs.filter((r) => r.includes('EVIL'));
  expect(evilRuns.length).toBeGreaterThan(0);
  for (const r of evilRuns) {
    // Text runs are never markdown; what a host could still read as a tag or a date function is split.
    expect(r).not.toMatch(/<(at|script)>/);
    expect(r).not.toContain('{{DATE(');
  }
  expect(evilRuns.join('\n')).toContain('**EVILBOLD**');
  expect(evilRuns.join('\n')).toContain('[EVILLINK](http://evil.example)');
  recordFigures('injection-markup', { slackMrkdwnTexts: texts.length, slackRawLeaks: leaks.length, teamsCards: cards.length, teamsMarkdownLeaks: markdownLeaks.length, teamsTextRunsWithInjectedText: evilRuns.length });
});

it('SQL metacharacters are stored verbatim, never executed, and find nothing they should not', async () => {
  const tablesBefore = await tableNames(rig.baton.db.sql);
  // Another handoff, so a query that matched everything would be seen.
  expect((await rig.baton.api('POST', '/api/handoffs', intakeBody({ team: 1 }))).status).toBe(201);
  const body = intakeBody({ team: 1, to: 'own1a', packet: { note: SQL_TEXT, title: `x'; DROP TABLE account;--`, tags: [`' OR 1=1 --`, `"; SELECT pg_sleep(5); --`] }, account: { name: `Robert'); DROP TABLE handoff;--`, crmId: `1' OR '1'='1`, segment: `\\'; TRUNCATE outbox_event; --` } });
  const created = await rig.baton.api('POST', '/api/handoffs', body, { 'idempotency-key': `k'; DROP TABLE handoff;--` });
  expect(created.status).toBe(201);
  const id = created.json.id as number;
  const got = await rig.baton.api('GET', `/api/handoffs/${id}`);
  expect(got.json.packet).toEqual(body.packet);
  expect(got.json.account.name).toBe(`Robert'); DROP TABLE handoff;--`);
  expect(got.json.account.crmId).toBe(`1' OR '1'='1`);
  // The same key and body again: found by the key (an exact match), not by anything it says.
  const replay = await rig.baton.api('POST', '/api/handoffs', body, { 'idempotency-key': `k'; DROP TABLE handoff;--` });
  expect(replay.status).toBe(200);
  expect(replay.json.id).toBe(id);
  await until('deliveries done', drained, 30_000);

  const before = await rowCounts(rig.baton.db.sql);
  const total = before.handoff!;
  expect(total).toBeGreaterThan(1);
  const q = (s: string) => encodeURIComponent(s);
  // 'refused': a well-formed filter naming no one (422); 'malformed': not a status or a number (400).
  const lists: [string, number | 'refused' | 'malformed'][] = [
    [`/api/handoffs?account=${q(`' OR 1=1 --`)}`, 0],
    [`/api/handoffs?account=${q(`Robert'); DROP TABLE handoff;--`)}`, 1],
    [`/api/handoffs?account=${q(`1' OR '1'='1`)}`, 1],
    [`/api/handoffs?status=${q(`posted' OR '1'='1`)}`, 'malformed'],
    [`/api/handoffs?transition=${q(`to_r1' --`)}`, 0],
    [`/api/handoffs?team=${q(`r1' OR 'a'='a`)}`, 0],
    [`/api/handoffs?owner=${q(`own1a' OR '1'='1`)}`, 'refused'],
    [`/api/handoffs?before=${q(`1; DROP TABLE handoff`)}&limit=${q('1 OR 1=1')}`, 'malformed'],
  ];
  for (const [path, expectCount] of lists) {
    const r = await rig.baton.api('GET', path);
    if (expectCount === 'refused') expect(r.status).toBe(422);
    else if (expectCount === 'malformed') expect(r.status).toBe(400);
    else {
      expect(r.status).toBe(200);
      expect(r.json.handoffs).toHaveLength(expectCount);
    }
  }
  expect((await rig.baton.api('GET', `/api/accounts/${q(`' OR 1=1 --`)}/owners`)).status).toBe(404);
  expect((await rig.baton.api('GET', `/api/accounts/${q(`1' OR '1'='1`)}/owners`)).status).toBe(200);
  expect((await rig.baton.api('GET', `/api/handoffs/${q(`1 OR 1=1`)}`)).status).toBe(404);
  expect((await rig.baton.api('GET', `/api/reports/kpis?team=${q(`r1' OR '1'='1`)}`)).status).toBe(422);
  // An action whose note and reason are SQL: stored as typed.
  const v = (await rig.baton.service.get(id, { events: false })).version;
  const rejected = await rig.baton.api('POST', `/api/handoffs/${id}/actions`, { action: 'reject', actor: 'own1a', reasonCode: 'not_ready', note: SQL_TEXT, expectedVersion: v });
  expect(rejected.status).toBe(200);
  const ev = (await rig.baton.service.events(id)).find((e) => e.type === 'rejected')!;
  expect(ev.note).toBe(SQL_TEXT.trim());
  const unknownReason = await rig.baton.api('POST', `/api/handoffs/${id}/actions`, { action: 'reject', actor: 'own1a', reasonCode: `x' OR '1'='1`, note: 'n' });
  expect(unknownReason.status).toBe(409);

  await until('deliveries done', drained, 30_000);
  expect(await tableNames(rig.baton.db.sql)).toEqual(tablesBefore);
  const after = await rowCounts(rig.baton.db.sql);
  // Only the rejection wrote rows (its audit event, outbox event and deliveries, and the reply posts).
  const d = diffCounts(before, after);
  expect(Object.keys(d).filter((t) => !['handoff_event', 'outbox_event', 'outbox_delivery', 'card_ref', 'agenda_jobs', 'platform_event'].includes(t))).toEqual([]);
  expect(d.handoff_event).toBe(1);
  expect(d.outbox_event).toBe(1);
  expect(after.handoff).toBe(total);
  recordFigures('injection-sql', { queries: lists.length + 5, tables: tablesBefore.length, handoffs: total, rowsChangedByReadQueries: 0 });
});
