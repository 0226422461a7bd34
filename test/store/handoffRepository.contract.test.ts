/**
 * The handoff repository's contract, run against every database Baton supports: the embedded
 * PGlite always, and PostgreSQL when DATABASE_URL is set (a throw-away schema, dropped after).
 * Each statement is checked for what the service relies on: the row read by a join has the same
 * shape as Prisma's include, a guarded update loses to a concurrent change, the one-statement post
 * writes the same audit row and event payload that a transition would, and so on.
 */
import { join } from 'node:path';
import { backends, type JobsTestDatabase } from '../jobs/helpers.js';
import { defaultPlaybook } from '../helpers/baton.js';
import { applyMigrations, projectRoot } from '../../src/store/migrate.js';
import { syncDirectory } from '../../src/directory.js';
import { HandoffRepository, type NewHandoff } from '../../src/store/handoffRepository.js';
import { decideCommand, transition } from '../../src/domain/transition.js';
import { HANDOFF_EVENT_TYPES, isEvent, writeEvent, type DomainEvent } from '../../src/events.js';
import type { OutboxConsumer, OutboxEvent } from '../../src/outbox.js';
import type { Playbook } from '../../src/playbook/schema.js';

const now = new Date('2026-11-23T09:00:00.000Z');

for (const backend of backends) {
  describe(`HandoffRepository on ${backend.name}`, () => {
    let t: JobsTestDatabase;
    let repo: HandoffRepository;
    let pb: Playbook;
    let [ann, ben] = ['', ''];

    beforeAll(async () => {
      t = await backend.open();
      await applyMigrations(t.db.sql, { dir: join(projectRoot(), 'prisma', 'migrations') });
      pb = await defaultPlaybook();
      await syncDirectory(t.db, pb);
      repo = new HandoffRepository(t.db.prisma);
      [ann, ben] = pb.people.filter((p) => p.active).map((p) => p.id) as [string, string];
    });
    afterAll(() => t.drop());

    const newHandoff = (accountId: number, extra: Partial<NewHandoff> = {}): NewHandoff => ({
      transitionId: pb.transitions[0]!.id,
      accountId,
      fromId: ann,
      ownerId: ben,
      teamId: pb.transitions[0]!.toTeamId,
      status: 'routed',
      packet: { note: 'hello' },
      routingReason: 'round-robin in the queue',
      idempotencyKey: null,
      requestHash: null,
      externalId: null,
      policy: { acceptMs: 1000 },
      slaAcceptDueAt: new Date(now.getTime() + 3_600_000),
      timerToken: 'tok-1',
      createdAt: now,
      ...extra,
    });

    it('upsertAccount creates an account, finds it again by CRM id or domain, fills what was missing, and reuses a name only when one account has it', async () => {
      const id = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Acme  Corp', crmId: 'crm-1' }, now));
      expect(await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'ACME corp', crmId: 'crm-1', domain: 'acme.com', segment: 'smb' }, now))).toBe(id);
      expect(await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Other name', domain: 'acme.com' }, now))).toBe(id);
      expect(await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'acme corp' }, now))).toBe(id);
      const [a] = await repo.findAccounts('crm-1');
      expect(a).toMatchObject({ id, name: 'Acme  Corp', nameKey: 'acme corp', crmId: 'crm-1', domain: 'acme.com', segment: 'smb' });
      for (const key of [String(id), 'ACME.com', ' acme   CORP ']) expect((await repo.findAccounts(key)).map((x) => x.id)).toEqual([id]);
      expect(await repo.findAccounts('no such account')).toEqual([]);
      // A second account of the same name: a name alone no longer picks one; a new one is made.
      await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Acme Corp', crmId: 'crm-2' }, now));
      const third = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Acme Corp' }, now));
      expect([id]).not.toContain(third);
    });

    it('loadRow reads the row and its relations in one statement, in the same shape as Prisma include', async () => {
      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Shape Inc', domain: 'shape.example' }, now));
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(accountId, { idempotencyKey: 'shape-1', requestHash: 'h1', externalId: 'ext-1' })));
      const joined = await repo.loadRow(undefined, id);
      const included = await repo.findByIdempotencyKey('shape-1');
      expect(joined).toEqual(included);
      // The same read on the driver (as the service's repository does it).
      const onDriver = new HandoffRepository(t.db.prisma, t.db.sql);
      expect(await onDriver.findByIdempotencyKey('shape-1')).toEqual(included);
      expect(await onDriver.findByIdempotencyKey('no-such-key')).toBeNull();
      expect(joined).toMatchObject({ id, status: 'routed', version: 1, packet: { note: 'hello' }, account: { id: accountId, domain: 'shape.example' }, owner: { id: ben }, from: { id: ann } });
      expect(await repo.loadRow(undefined, 987_654)).toBeNull();
      expect(await repo.timerState(id)).toMatchObject({ id, status: 'routed', timerToken: 'tok-1', ownerId: ben });
      expect(await repo.state(t.db.prisma, id)).toEqual({ status: 'routed', version: 1 });
    });

    it('updateGuarded applies a change at the version read, and refuses it once another change committed', async () => {
      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Guard Ltd' }, now));
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(accountId, { status: 'posted' })));
      expect(await repo.transaction((tx) => repo.updateGuarded(tx, id, { version: 1 }, { status: 'accepted', version: 2, acceptedAt: now, reassignCount: 0 }))).toBe(true);
      expect(await repo.transaction((tx) => repo.updateGuarded(tx, id, { version: 1 }, { status: 'rejected', version: 2 }))).toBe(false);
      expect(await repo.transaction((tx) => repo.updateGuarded(tx, id, { version: 2, status: 'posted' }, { status: 'posted' }))).toBe(false);
      expect(await repo.loadRow(undefined, id)).toMatchObject({ status: 'accepted', version: 2, acceptedAt: now });
      expect(await repo.transaction((tx) => repo.lockTimerToken(tx, id))).toBe('tok-1');
      expect(await repo.transaction((tx) => repo.lockTimerToken(tx, 987_654))).toBeUndefined();
    });

    it('appends audit events; lastChange is the first event at a version, events come by version then id, latestEvent finds the newest of a type', async () => {
      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Audit GmbH' }, now));
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(accountId)));
      const later = (s: number) => new Date(now.getTime() + s * 1000);
      await repo.transaction((tx) =>
        repo.appendEvents(tx, [
          { handoffId: id, version: 1, type: 'routed', actorId: null, at: now, fromStatus: 'received', toStatus: 'routed', ownerId: ben, data: { reason: 'queue' } },
          { handoffId: id, version: 2, type: 'accepted', actorId: ben, at: later(10), fromStatus: 'routed', toStatus: 'accepted', ownerId: ben, data: null },
          { handoffId: id, version: 2, type: 'snoozed', actorId: ben, at: later(20), toStatus: 'accepted', reasonCode: '1h', data: null },
          { handoffId: id, version: 2, type: 'snoozed', actorId: ben, at: later(30), toStatus: 'accepted', note: 'later', data: null },
        ]),
      );
      expect(await repo.lastChange(t.db.prisma, id, 2)).toMatchObject({ type: 'accepted', actorId: ben, at: later(10) });
      expect(await repo.lastChange(t.db.prisma, id, 3)).toBeNull();
      expect((await repo.events(id)).map((e) => e.type)).toEqual(['routed', 'accepted', 'snoozed', 'snoozed']);
      expect((await repo.events(id))[0]!.data).toEqual({ reason: 'queue' });
      expect((await repo.events(id))[1]!.data).toBeNull();
      expect(await repo.latestEvent(id, 'snoozed', later(5))).toMatchObject({ note: 'later' });
      expect(await repo.latestEvent(id, 'snoozed', later(31))).toBeNull();
      expect((await repo.eventsOf([id])).map((e) => e.at)).toEqual([now, later(10), later(20), later(30)]);
    });

    it('queue counters start at zero and count each pick; the account owner at a stage is set and replaced', async () => {
      const key = `contract:${backend.name}:queue`;
      expect(await repo.transaction((tx) => repo.lockedQueueCounts(tx, key))).toEqual(new Map());
      await repo.transaction(async (tx) => {
        await repo.bumpQueue(tx, key, ann);
        await repo.bumpQueue(tx, key, ann);
        await repo.bumpQueue(tx, key, ben);
      });
      expect(await repo.transaction((tx) => repo.lockedQueueCounts(tx, key))).toEqual(new Map([[ann, 2], [ben, 1]]));

      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Owned Co' }, now));
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(accountId)));
      const stage = pb.stages[0]!.id;
      expect(await repo.transaction((tx) => repo.accountOwnerAt(tx, accountId, stage))).toBeNull();
      await repo.transaction((tx) => repo.setAccountOwner(tx, { accountId, stage, personId: ann, handoffId: id, since: now }));
      await repo.transaction((tx) => repo.setAccountOwner(tx, { accountId, stage, personId: ben, handoffId: id, since: now }));
      expect(await repo.transaction((tx) => repo.accountOwnerAt(tx, accountId, stage))).toBe(ben);
      expect(await repo.accountOwners(accountId)).toEqual([{ stage, personId: ben, since: now, handoffId: id }]);
    });

    it('intakeAccount reads the account owner at a stage in the same statement, and holds the named queue locks until commit', async () => {
      const stage = pb.stages[0]!.id;
      const first = await t.db.sql.transaction((q) => repo.intakeAccount(q, { name: 'Intake Co', domain: 'intake.example' }, { stage, lockQueues: [] }, now));
      expect(first.ownerId).toBeNull();
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(first.accountId)));
      await repo.transaction((tx) => repo.setAccountOwner(tx, { accountId: first.accountId, stage, personId: ann, handoffId: id, since: now }));
      // Found by domain, filled with the CRM id and segment, its owner read, all at once.
      const again = await t.db.sql.transaction((q) => repo.intakeAccount(q, { name: 'Intake Company', domain: 'intake.example', crmId: 'crm-intake', segment: 'mid' }, { stage, lockQueues: [] }, now));
      expect(again).toEqual({ accountId: first.accountId, ownerId: ann });
      expect(await t.db.sql.transaction((q) => repo.intakeAccount(q, { name: 'x', crmId: 'crm-intake' }, { stage: null, lockQueues: [] }, now))).toEqual({ accountId: first.accountId, ownerId: null });
      expect((await repo.findAccounts('crm-intake'))[0]).toMatchObject({ name: 'Intake Co', domain: 'intake.example', segment: 'mid' });
      // Empty strings are no CRM id or domain: found by name, nothing filled.
      expect((await t.db.sql.transaction((q) => repo.intakeAccount(q, { name: 'intake co', crmId: '', domain: '', segment: '' }, { stage: null, lockQueues: [] }, now))).accountId).toBe(first.accountId);
      expect((await repo.findAccounts('crm-intake'))[0]).toMatchObject({ segment: 'mid' });

      // The lock taken by intakeAccount is held until its transaction ends: another transaction
      // asking for it waits (on PGlite, one connection, transactions run one at a time anyway).
      const key = `contract:${backend.name}:intake-lock`;
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = t.db.sql.transaction(async (q) => {
        await repo.intakeAccount(q, { name: 'Lock Co' }, { stage: null, lockQueues: [key] }, now);
        locked();
        await held;
        await q.query(`INSERT INTO routing_cursor (queue_key, person_id, assigned) VALUES ($1, $2, 1)`, [key, ann]);
        order.push('holder committed');
      });
      await isLocked;
      const waiter = repo.transaction(async (tx) => {
        const counts = await repo.lockedQueueCounts(tx, key);
        order.push(`waiter read ${counts.get(ann) ?? 0}`);
      });
      release();
      await Promise.all([holder, waiter]);
      expect(order).toEqual(['holder committed', 'waiter read 1']);
      expect(await t.db.sql.transaction((q) => repo.queueCounts(q, key))).toEqual(new Map([[ann, 1]]));
    });

    it('insertRouted writes the row, its audit events, its event with one delivery row per consumer and the queue pick, and returns the row as loadRow reads it', async () => {
      const { accountId } = await t.db.sql.transaction((q) => repo.intakeAccount(q, { name: 'Routed AG', crmId: 'crm-routed' }, { stage: null, lockQueues: [] }, now));
      const key = `contract:${backend.name}:routed`;
      const insert = (extra: Partial<NewHandoff>, queuePick: { queueKey: string; personId: string } | null) =>
        t.db.sql.transaction((q) =>
          repo.insertRouted(q, {
            handoff: newHandoff(accountId, extra),
            audit: [
              { version: 0, type: 'received', actorId: ann, at: now, toStatus: 'received', data: { source: 'api' } },
              { version: 1, type: 'routed', actorId: null, at: now, fromStatus: 'received', toStatus: 'routed', ownerId: ben, data: { reason: 'queue', source: 'queue' } },
            ],
            event: { type: 'handoff.routed', payload: { version: 1, ownerId: ben, timerToken: 'tok-1', slaAcceptDueAt: '2026-11-23T10:00:00.000Z' } },
            consumers: ['slack', 'sla'],
            queuePick,
          }),
        );
      const row = await insert({ idempotencyKey: 'routed-1', requestHash: 'h', externalId: 'e-1' }, { queueKey: key, personId: ben });
      expect(row).toEqual(await repo.loadRow(undefined, row.id));
      expect(row).toMatchObject({ status: 'routed', version: 1, createdAt: now, updatedAt: now, packet: { note: 'hello' }, policy: { acceptMs: 1000 }, idempotencyKey: 'routed-1', account: { id: accountId }, owner: { id: ben }, from: { id: ann } });
      expect((await repo.events(row.id)).map((e) => [e.version, e.type, e.actorId, e.at, e.fromStatus, e.toStatus, e.ownerId, e.data])).toEqual([
        [0, 'received', ann, now, null, 'received', null, { source: 'api' }],
        [1, 'routed', null, now, 'received', 'routed', ben, { reason: 'queue', source: 'queue' }],
      ]);
      const [stored] = await t.db.prisma.outboxEvent.findMany({ where: { handoffId: row.id }, include: { deliveries: true } });
      expect(stored).toMatchObject({ type: 'handoff.routed', createdAt: now, payload: { handoffId: row.id, version: 1, ownerId: ben, timerToken: 'tok-1', slaAcceptDueAt: '2026-11-23T10:00:00.000Z' } });
      expect(stored!.deliveries.map((d) => [d.consumer, d.attempts, d.availableAt]).sort()).toEqual([['sla', 0, now], ['slack', 0, now]]);
      await insert({}, { queueKey: key, personId: ben });
      await insert({}, null);
      expect(await t.db.sql.transaction((q) => repo.queueCounts(q, key))).toEqual(new Map([[ben, 2]]));
      // The idempotency key is unique: a second insert with it fails and writes nothing.
      const before = await t.db.prisma.handoff.count();
      await expect(insert({ idempotencyKey: 'routed-1' }, null)).rejects.toThrow();
      expect(await t.db.prisma.handoff.count()).toBe(before);
    });

    it('lists newest first with filters, and an account\'s handoffs oldest first', async () => {
      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'List & Co' }, now));
      const ids: number[] = [];
      for (const status of ['routed', 'accepted', 'completed']) ids.push(await repo.transaction((tx) => repo.create(tx, newHandoff(accountId, { status }))));
      expect((await repo.list({ accountIds: [accountId] }, 10)).map((h) => h.id)).toEqual([...ids].reverse());
      expect((await repo.list({ accountIds: [accountId], statuses: ['routed', 'accepted'] }, 10)).map((h) => h.id)).toEqual([ids[1], ids[0]]);
      expect((await repo.list({ accountIds: [accountId], beforeId: ids[2]! }, 1)).map((h) => h.id)).toEqual([ids[1]]);
      expect(await repo.list({ accountIds: [] }, 10)).toEqual([]);
      expect((await repo.list({ accountIds: [accountId], ownerId: ann }, 10))).toEqual([]);
      expect((await repo.ofAccount(accountId, ['completed'])).map((h) => h.id)).toEqual([ids[2]]);
      expect((await repo.ofAccount(accountId)).map((h) => h.id)).toEqual(ids);
    });

    it('markPosted moves routed → posted once, with the audit row and the same event payload a transition writes, and a delivery row per named consumer', async () => {
      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Posted plc' }, now));
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(accountId, { slaAcceptDueAt: new Date('2026-11-23T10:30:00.123Z') })));
      const before = (await repo.loadRow(undefined, id))!;
      const args = { handoffId: id, from: 'routed', to: 'posted', auditType: 'posted', platform: 'slack', consumers: ['slack', 'teams'], now };
      expect(await repo.markPosted(args)).toEqual({ version: 1 });
      expect(await repo.markPosted({ ...args, platform: 'teams' })).toBeNull();
      expect(await repo.loadRow(undefined, id)).toMatchObject({ status: 'posted', version: 1 });
      expect((await repo.events(id)).map((e) => [e.type, e.fromStatus, e.toStatus, e.ownerId, e.data])).toEqual([['posted', 'routed', 'posted', ben, { platform: 'slack' }]]);

      const decision = decideCommand(before, { action: 'post', actorRoles: ['system'], whoCanAct: 'Baton' }, null);
      const expected = transition(before, { action: 'post', actorId: null, decision, data: { platform: 'slack' }, newTimerToken: 'unused' }, now).events[0]!;
      const stored = await t.db.prisma.outboxEvent.findMany({ where: { handoffId: id }, include: { deliveries: true } });
      expect(stored).toHaveLength(1);
      expect(stored[0]!.type).toBe(expected.type);
      expect(stored[0]!.payload).toEqual(expected.payload);
      expect(stored[0]!.deliveries.map((d) => d.consumer).sort()).toEqual(['slack', 'teams']);
    });

    it('writeEvent stores an event with one delivery row per subscribed consumer, each declaring the types it wants', async () => {
      const consumers: OutboxConsumer[] = [
        { name: 'by-type', subscribes: ['handoff.accepted'], handle: async () => undefined },
        { name: 'every-handoff', subscribes: HANDOFF_EVENT_TYPES, handle: async () => undefined },
        { name: 'digests', subscribes: ['digest.weekly'], handle: async () => undefined },
      ];
      const accountId = await t.db.sql.transaction((q) => repo.upsertAccount(q, { name: 'Written Ltd' }, now));
      const id = await repo.transaction((tx) => repo.create(tx, newHandoff(accountId)));
      const event: DomainEvent = {
        type: 'handoff.accepted',
        handoffId: id,
        payload: { handoffId: id, version: 2, action: 'accept', actorId: ann, ownerId: ann, timerToken: 't', slaAcceptDueAt: null, slaFirstTouchDueAt: null },
      };
      const woken = await repo.transaction((tx) => writeEvent(tx, consumers, event, now));
      expect(woken).toEqual(['by-type', 'every-handoff']);
      const digest: DomainEvent = { type: 'digest.weekly', handoffId: null, payload: { personId: ann, kind: 'weekly', periodFrom: '2026-11-16T00:00:00.000Z', periodTo: '2026-11-23T00:00:00.000Z' } };
      expect(await repo.transaction((tx) => writeEvent(tx, consumers, digest, now))).toEqual(['digests']);
      const [stored] = await t.db.prisma.outboxEvent.findMany({ where: { handoffId: id }, include: { deliveries: true } });
      expect(stored!.payload).toEqual(event.payload);
      expect(stored!.deliveries.map((d) => d.consumer).sort()).toEqual(['by-type', 'every-handoff']);
      // As a consumer gets it back: its type names its payload's shape.
      const delivered: OutboxEvent = { id: String(stored!.id), handoffId: stored!.handoffId, type: stored!.type, payload: stored!.payload as Record<string, unknown>, createdAt: stored!.createdAt };
      expect(isEvent(delivered, 'handoff.accepted')).toBe(true);
      expect(isEvent(delivered, 'handoff.routed')).toBe(false);
    });
  });
}
