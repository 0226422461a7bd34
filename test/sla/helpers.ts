/**
 * A small playbook for SLA tests: a 24/7 calendar (business time = wall time) and SLAs of seconds,
 * plus helpers to start Baton on a given database and read a handoff's history.
 */
import { parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';
import type { HandoffEventView } from '../../src/domain/view.js';
import { startTestBaton, type TestBaton } from '../helpers/baton.js';
import type { BatonOptions } from '../../src/app.js';
import type { JobsTestDatabase } from '../jobs/helpers.js';

const allWeek = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `      ${d}: "00:00-24:00"`).join('\n');

function transition(id: string, body: string): string {
  return `  ${id}:
    from: alpha
    to: beta
    packet:
      note:
        label: Note
        type: text
        description: What the receiver needs to know
        example: hello
    routing:
      queue: [cat, dan]
    fallbackOwner: bob
    rejectReasons:
      nope: Not for us
${body}`;
}

/**
 * Transitions (all into team beta: lead bob, head hana; cat and dan report to bob):
 * - fast:   accept 3s, nudges 50%/80% (1.5s, 2.4s), breach at 3s → owner's manager, +1s → head,
 *           reassigned to the next in the queue 3s after the breach.
 * - snoozy: accept 6s, nudges 25%/50% (1.5s, 3s), chain owner_lead only, no reassignment.
 * - touchy: accept 1h; first touch 2s, nudge 50%, breach → team lead, +1s → head.
 * - steady: accept 2s, nudge 50% (1s), breach at 2s → owner's manager, +1s → head, no reassignment.
 * - roomy:  the same shape at 6s / 3s / +2s, for tests that must arm timers before the first one
 *           is due even on a loaded machine (restart, several instances).
 * - slow:   everything in hours (for tests that drive timers by hand).
 */
export const SLA_PLAYBOOK = `
organization:
  name: SLA Test Co
  timeZone: UTC
stages:
  a: Stage A
  b: Stage B
teams:
  alpha:
    name: Alpha
    stage: a
    timeZone: UTC
    businessHours:
${allWeek}
    lead: ann
  beta:
    name: Beta
    stage: b
    timeZone: UTC
    businessHours:
${allWeek}
    lead: bob
    head: hana
people:
  ann:
    name: Ann Sender
    email: ann@test.example
    team: alpha
  bob:
    name: Bob Lead
    email: bob@test.example
    team: beta
    manager: hana
    slackUserId: U0BOB0001
    teamsUserId: "29:bob"
  cat:
    name: Cat Owner
    email: cat@test.example
    team: beta
    manager: bob
  dan:
    name: Dan Owner
    email: dan@test.example
    team: beta
    manager: bob
  hana:
    name: Hana Head
    email: hana@test.example
    team: beta
transitions:
${transition(
  'fast',
  `    sla:
      accept: 3s
      firstTouch: 3s
    nudgesAt: [0.5, 0.8]
    escalation:
      chain: [owner_lead, function_head]
      repeatEvery: 1s
      reassignAfter: 3s
`,
)}
${transition(
  'snoozy',
  `    sla:
      accept: 6s
      firstTouch: 1h
    nudgesAt: [0.25, 0.5]
    escalation:
      chain: [owner_lead]
      repeatEvery: 1h
      reassignAfter: never
`,
)}
${transition(
  'touchy',
  `    sla:
      accept: 1h
      firstTouch: 2s
    nudgesAt: [0.5]
    escalation:
      chain: [team_lead, function_head]
      repeatEvery: 1s
      reassignAfter: 1h
`,
)}
${transition(
  'steady',
  `    sla:
      accept: 2s
      firstTouch: 1h
    nudgesAt: [0.5]
    escalation:
      chain: [owner_lead, function_head]
      repeatEvery: 1s
      reassignAfter: never
`,
)}
${transition(
  'roomy',
  `    sla:
      accept: 6s
      firstTouch: 1h
    nudgesAt: [0.5]
    escalation:
      chain: [owner_lead, function_head]
      repeatEvery: 2s
      reassignAfter: never
`,
)}
${transition(
  'slow',
  `    sla:
      accept: 4h
      firstTouch: 4h
    nudgesAt: [0.5, 0.8]
    escalation:
      chain: [owner_lead, function_head]
      repeatEvery: 2h
      reassignAfter: 4h
`,
)}
`;

let parsed: Playbook | undefined;
export function slaPlaybook(): Playbook {
  parsed ??= parsePlaybook(SLA_PLAYBOOK, 'sla-test.yml');
  return parsed;
}

/**
 * Baton on a database the test owns. Agenda polls every 500 ms on both backends and has a short
 * lock lifetime, so stop() (which waits out Agenda's liveness timers) is quick.
 */
export function startSlaBaton(t: JobsTestDatabase, jobs: NonNullable<BatonOptions['jobs']> = {}): Promise<TestBaton> {
  return startTestBaton({ db: t.db, playbook: slaPlaybook(), jobs: { databaseUrl: t.url, processEveryMs: 500, lockLifetimeMs: 1500, ...jobs } });
}

let accountSeq = 0;
export async function intake(baton: TestBaton, transition: string): Promise<{ id: number; ownerId: string; createdAt: Date }> {
  const { handoff } = await baton.service.intake({ transition, account: { name: `Account ${++accountSeq} ${Date.now()}` }, from: 'ann', packet: { note: 'hello' } });
  return { id: handoff.id, ownerId: handoff.owner.id, createdAt: new Date(handoff.createdAt) };
}

export const ofType = (events: HandoffEventView[], type: string) => events.filter((e) => e.type === type);
export const dataOf = (e: HandoffEventView) => e.data as Record<string, unknown>;

/** Outbox events of a handoff, oldest first (what the platform adapters receive). */
export async function outboxEvents(baton: TestBaton, handoffId: number) {
  const rows = await baton.db.prisma.outboxEvent.findMany({ where: { handoffId }, orderBy: { id: 'asc' } });
  return rows.map((r) => ({ type: r.type, payload: r.payload as Record<string, unknown>, createdAt: r.createdAt }));
}
