/**
 * "New demo handoff": a normal handoff of a normal transition whose policy snapshot has a short
 * SLA on a 24/7 calendar, so its nudge and its breach happen within a minute — while the playbook
 * and every other handoff keep the real SLAs.
 */
import { jest } from '@jest/globals';
import { consolePlugin } from '../../../bots/console/plugin.js';
import { demoPlaybook, demoTimings } from '../../../bots/console/demo.js';
import { exampleRequest } from '../../../src/playbook/packet.js';
import { startTestBaton, type TestBaton } from '../../helpers/baton.js';
import { waitFor } from '../../helpers/wait.js';
import { signIn } from './signIn.js';

jest.setTimeout(90_000);


describe('demo handoffs', () => {
  let baton: TestBaton;
  /** The console needs a session: signed in once, as a person would, through a single-use link. */
  let cookie: string;
  beforeAll(async () => {
    baton = await startTestBaton({ plugins: [consolePlugin], jobs: { processEveryMs: 250, lockLifetimeMs: 1500 } });
    cookie = await signIn(baton);
  });
  afterAll(async () => {
    await baton?.stop();
  });

  // JSON answers are read loosely, as in test/helpers/baton.ts.
  const post = async (path: string, body: unknown): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${baton.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-baton-console': '1', cookie }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };

  it('has a 30-second SLA when asked for half a minute: nudged at 15s, breached and escalated at 30s', async () => {
    const created = await post('/console/api/demo', { transition: 'cs_to_support', acceptMinutes: 0.5 });
    expect(created.status).toBe(201);
    const id: number = created.json.handoff.id;
    const view = await baton.service.get(id);
    expect(view.transition).toBe('cs_to_support');
    expect(new Date(view.slaAcceptDueAt!).getTime() - new Date(view.createdAt).getTime()).toBe(30_000);

    // The timers the console shows: nudges at 50%/80%, the breach, the next step, the reassignment.
    const detail = await waitFor('the five timers', async () => {
      const d = (await (await fetch(`${baton.url}/console/api/handoffs/${id}`, { headers: { cookie } })).json()) as { demo: boolean; timers: { step: string; runAt: string }[] };
      return d.timers.length === 5 ? d : undefined;
    }, 10_000, 200);
    const t0 = new Date(view.createdAt).getTime();
    const offsets = Object.fromEntries(detail.timers.map((t) => [t.step, new Date(t.runAt).getTime() - t0]));
    expect(offsets).toEqual({ 'accept:nudge:0.5': 15_000, 'accept:nudge:0.8': 24_000, 'accept:escalate:1': 30_000, 'accept:escalate:2': 45_000, 'accept:reassign': 60_000 });
    expect(detail.demo).toBe(true);

    const escalated = await waitFor('the escalation', async () => {
      const events = await baton.service.events(id);
      return events.some((e) => e.type === 'escalated') ? events : undefined;
    }, 45_000, 200);
    expect(escalated.filter((e) => e.type === 'nudged').map((e) => (e.data as { point: number }).point)).toEqual([0.5, 0.8]);
    const breach = escalated.find((e) => e.type === 'escalated')!;
    expect(new Date(breach.at).getTime() - t0).toBeGreaterThanOrEqual(30_000);
    expect(breach.data).toMatchObject({ sla: 'escalation', kind: 'accept', level: 1, breach: true });
    expect((await baton.service.get(id)).status).toBe('escalated');
    expect(await baton.db.prisma.slaBreach.count({ where: { handoffId: id } })).toBe(1);
  });

  it('leaves the playbook and other handoffs alone', async () => {
    const t = baton.service.transition('cs_to_support')!;
    expect(t.sla.acceptMs).toBe(30 * 60_000);
    const r = await baton.api('POST', '/api/handoffs', { ...exampleRequest(t, baton.playbook), account: { name: 'Not a demo' } });
    expect(r.status).toBe(201);
    expect(r.json.slaAcceptDueAt).not.toBe(new Date(new Date(r.json.createdAt).getTime() + 30_000).toISOString());
    // The demo playbook only changes durations and calendars.
    const demo = demoPlaybook(baton.playbook, demoTimings(2));
    expect(demo.transitions.map((x) => x.id)).toEqual(baton.playbook.transitions.map((x) => x.id));
    expect(demo.transitions.find((x) => x.id === 'support_to_product')!.escalation.reassignAfterMs).toBeNull();
    expect(demo.transitions[0]!.routing).toBe(baton.playbook.transitions[0]!.routing);
    expect(demo.people).toBe(baton.playbook.people);
  });

  it('refuses an unknown transition or an SLA out of range, naming the field', async () => {
    const bad = await post('/console/api/demo', { transition: 'nope' });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].path).toBe('transition');
    const slow = await post('/console/api/demo', { acceptMinutes: 600 });
    expect(slow.status).toBe(422);
    expect(slow.json.error.details[0].path).toBe('acceptMinutes');
  });
});
