/**
 * Durability and several instances: timers survive a restart (the app is down when they come
 * due, and they fire promptly after start-up); two Batons on one PostgreSQL database fire each
 * timer exactly once.
 */
import { jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { SLA_TIMER_JOB } from '../../src/sla/engine.js';
import type { TestBaton } from '../helpers/baton.js';
import { postgresDatabase, postgresUrl, sleep, waitFor, type JobsTestDatabase } from '../jobs/helpers.js';
import { dataOf, intake, ofType, startSlaBaton } from './helpers.js';

jest.setTimeout(90_000);

interface Reopenable {
  name: string;
  /** The first database and a way to get a fresh connection to the same data later. */
  open(): Promise<{ first: JobsTestDatabase; reopen(): Promise<JobsTestDatabase>; cleanup(): Promise<void> }>;
}

const setups: Reopenable[] = [
  {
    name: 'PGlite (data directory on disk)',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'baton-sla-restart-'));
      const at = async (): Promise<JobsTestDatabase> => {
        const db = await openDatabase({ dataDir: join(dir, 'pglite') });
        return { db, url: undefined, drop: () => db.close() };
      };
      return { first: await at(), reopen: at, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];
const pgUrl = postgresUrl;
if (pgUrl) {
  setups.push({
    name: 'PostgreSQL',
    async open() {
      const first = await postgresDatabase(pgUrl);
      const reopen = async (): Promise<JobsTestDatabase> => {
        const db = await openDatabase({ url: first.url, dataDir: '' });
        return { db, url: first.url, drop: () => db.close() };
      };
      return { first, reopen, cleanup: async () => undefined };
    },
  });
}

for (const setup of setups) {
  describe(`restart on ${setup.name}`, () => {
    it('a timer that came due while Baton was down fires promptly after the next start, once', async () => {
      const { first, reopen, cleanup } = await setup.open();
      let second: JobsTestDatabase | undefined;
      let firstClosed = false;
      let baton: TestBaton | undefined;
      try {
        baton = await startSlaBaton(first);
        const h = await intake(baton, 'roomy');
        await waitFor(async () => (await baton!.jobs.list({ name: SLA_TIMER_JOB, match: { handoffId: h.id } })).length === 3);
        const dueAt = new Date((await baton.service.get(h.id, { events: false })).slaAcceptDueAt!);
        await baton.stop();
        baton = undefined;
        // PGlite: close the data directory; PostgreSQL: the schema stays, a new pool comes later.
        if (setup.name.startsWith('PGlite')) {
          await first.drop();
          firstClosed = true;
        }
        // Down past the nudge, the breach and the next escalation step.
        const downUntil = dueAt.getTime() + 2500;
        if (Date.now() < downUntil) await sleep(downUntil - Date.now());

        second = await reopen();
        const before = await second.db.prisma.handoffEvent.count({ where: { handoffId: h.id, type: { in: ['nudged', 'escalated'] } } });
        expect(before).toBe(0);
        baton = await startSlaBaton(second);
        const startedAt = Date.now();
        const all = await waitFor(async () => {
          const e = await baton!.service.events(h.id);
          return ofType(e, 'escalated').length >= 2 ? e : undefined;
        }, 20_000);
        const escalations = ofType(all, 'escalated');
        // Oldest first, the breach promptly after start-up; the stale 50% nudge is not sent.
        expect(escalations.map((e) => dataOf(e).level)).toEqual([1, 2]);
        expect(new Date(escalations[0]!.at).getTime() - startedAt).toBeLessThan(2000);
        expect(ofType(all, 'nudged')).toHaveLength(0);
        await sleep(700);
        expect(ofType(await baton.service.events(h.id), 'escalated')).toHaveLength(2);
        expect(await baton.db.prisma.slaBreach.count({ where: { handoffId: h.id } })).toBe(2);
        await baton.service.act(h.id, { action: 'withdraw', actor: 'ann' });
      } finally {
        await baton?.stop();
        await second?.drop();
        if (!firstClosed) await first.drop();
        await cleanup();
      }
    });
  });
}

if (pgUrl) {
  describe('two Batons on one PostgreSQL database', () => {
    let t: JobsTestDatabase;
    let other: JobsTestDatabase;
    let a: TestBaton;
    let b: TestBaton;
    beforeAll(async () => {
      t = await postgresDatabase(pgUrl);
      other = { db: await openDatabase({ url: t.url, dataDir: '' }), url: t.url, drop: async () => undefined };
      // Started together: both create Agenda's table at the same moment.
      [a, b] = await Promise.all([startSlaBaton(t, { instanceName: 'baton-a' }), startSlaBaton(other, { instanceName: 'baton-b' })]);
    });
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await other?.db.close();
      await t?.drop();
    });

    it('fire each timer exactly once', async () => {
      const handoffs = await Promise.all(Array.from({ length: 6 }, (_, i) => intake(i % 2 ? a : b, 'roomy')));
      const ids = handoffs.map((h) => h.id);
      await waitFor(async () => (await a.db.prisma.handoffEvent.count({ where: { handoffId: { in: ids }, type: 'escalated' } })) === 12, 30_000);
      await sleep(1000);
      for (const id of ids) {
        const e = await a.service.events(id);
        expect(ofType(e, 'nudged').map((x) => dataOf(x).point)).toEqual([0.5]);
        expect(ofType(e, 'escalated').map((x) => dataOf(x).level)).toEqual([1, 2]);
      }
      expect(await a.db.prisma.slaFiring.count({ where: { handoffId: { in: ids } } })).toBe(18);
      expect(await a.db.prisma.slaBreach.count({ where: { handoffId: { in: ids } } })).toBe(12);
      // Each outbox event was handled by one of the two instances' "sla" consumer.
      const deliveries = await a.db.prisma.outboxDelivery.findMany({ where: { consumer: 'sla', event: { handoffId: { in: ids } } } });
      expect(deliveries.every((d) => d.deliveredAt !== null)).toBe(true);
      for (const id of ids) await a.service.act(id, { action: 'withdraw', actor: 'ann' });
    }, 60_000);
  });
}
