/**
 * Scenario 8 — the database goes away, then comes back.
 *  - PostgreSQL (with DATABASE_URL): Baton reaches the server through a TCP proxy this test can
 *    cut (every connection reset, new ones refused, as when PostgreSQL is stopped) and restore —
 *    other engineers and CI jobs share the real server, which is never stopped. For
 *    RELIABILITY_DB_OUTAGE_MS (default 5 s; `npm run soak`: 30 s): /readyz answers 503, every API
 *    call answers 503 promptly (measured), nothing is half-written; afterwards Baton recovers by
 *    itself, and requests refused during the outage succeed when re-sent (same Idempotency-Key).
 *  - PGlite (always): the embedded database is one session, so a long statement (a KPI report
 *    over years of data, say) stalls everything behind it. /readyz says so within its 2-second
 *    bound, requests waiting for the database answer 503 instead of a 500, and all is well after.
 */
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { startTestBaton, type TestBaton } from '../helpers/baton.js';
import { diffCounts, recordFigures, rowCounts, sleep, until } from './helpers.js';
import { intakeBody, reliabilityPlaybook, reliabilityPlaybookYaml } from './playbook.js';
import { childDatabase, startChildBaton } from './child.js';

const OUTAGE_MS = Number(process.env.RELIABILITY_DB_OUTAGE_MS ?? 5000);
jest.setTimeout(120_000 + OUTAGE_MS * 3);
const playbook = reliabilityPlaybook({ teams: 2 });

/** A TCP proxy in front of PostgreSQL that can be cut (reset + refuse) and restored on the same port. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Like PostgreSQL going down: every open connection is reset and new ones are refused. */
  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.resetAndDestroy();
    this.sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

const statusOf = async (p: Promise<{ status: number }>) => (await p).status;
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - t) };
}

const base = process.env.DATABASE_URL;
if (base) {
  const target = new URL(base);
  describe('PostgreSQL unavailable (connections reset, new ones refused)', () => {
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    const schema = `t_rel_${randomBytes(5).toString('hex')}`;
    let db: Database;
    let baton: TestBaton;
    let direct: Database;

    beforeAll(async () => {
      await proxy.up();
      const viaProxy = new URL(base);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      viaProxy.searchParams.set('schema', schema);
      db = await openDatabase({ url: viaProxy.toString(), dataDir: '' });
      baton = await startTestBaton({ db, playbook, jobs: { databaseUrl: viaProxy.toString() } });
      const d = new URL(base);
      d.searchParams.set('schema', schema);
      direct = await openDatabase({ url: d.toString(), dataDir: '' });
    });
    afterAll(async () => {
      if (proxy.port && !(await fetch(`${baton.url}/readyz`).then((r) => r.ok).catch(() => false))) await proxy.up().catch(() => undefined);
      await baton?.stop();
      await db?.close();
      await direct?.close();
      await proxy.cut();
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });

    it(`${OUTAGE_MS / 1000}s without the database: /readyz 503, every call 503 promptly, nothing half-written, recovery on its own`, async () => {
      expect((await fetch(`${baton.url}/readyz`)).status).toBe(200);
      const seed = await baton.api('POST', '/api/handoffs', intakeBody({ team: 1, to: 'own1a' }));
      expect(seed.status).toBe(201);
      const id = seed.json.id as number;
      await until('the seed handoff delivered to the SLA engine', async () => (await direct.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE delivered_at IS NULL`))[0]!.n === '0');
      const before = await rowCounts(direct.sql);

      // A burst is under way when the database goes: each request either commits or is refused.
      const keys = Array.from({ length: 20 }, (_, i) => `db-outage-${i}`);
      const bodies = keys.map(() => intakeBody({ team: 2 }));
      let answered = 0;
      const inFlight = keys.map((k, i) => baton.api('POST', '/api/handoffs', bodies[i], { 'idempotency-key': k }).finally(() => answered++));
      await until('a few answers', () => answered >= 3, 30_000, 1);
      const cutAt = Date.now();
      await proxy.cut();
      const burst = await Promise.all(inFlight);
      expect(burst.every((r) => r.status === 201 || r.status === 503)).toBe(true);

      // During the outage.
      const readyz = await timed(() => statusOf(fetch(`${baton.url}/readyz`)));
      const intake = await timed(() => baton.api('POST', '/api/handoffs', intakeBody({ team: 1 })));
      const action = await timed(() => baton.api('POST', `/api/handoffs/${id}/actions`, { action: 'accept', actor: 'own1a' }));
      const read = await timed(() => baton.api('GET', `/api/handoffs/${id}`));
      const list = await timed(() => baton.api('GET', '/api/handoffs?status=open'));
      const owners = await timed(() => baton.api('GET', `/api/accounts/${encodeURIComponent(seed.json.account.domain)}/owners`));
      const kpis = await timed(() => baton.api('GET', '/api/reports/kpis'));
      expect(readyz.value).toBe(503);
      const answers = { intake, action, read, list, owners, kpis };
      for (const [name, a] of Object.entries(answers)) {
        expect([name, a.value.status, a.value.json?.error?.code]).toEqual([name, 503, 'unavailable']);
        // Promptly: PostgreSQL refusing connections is known at once (the pool's connect timeout is 5 s).
        expect([name, a.ms < 6000]).toEqual([name, true]);
      }
      // …and for as long as it lasts, while Baton's own workers (outbox, Agenda) keep failing in the background.
      const probes: number[] = [];
      while (Date.now() - cutAt < OUTAGE_MS) {
        probes.push(await statusOf(fetch(`${baton.url}/readyz`)));
        await sleep(500);
      }
      expect(probes.every((s) => s === 503)).toBe(true);

      // Back: Baton finds out by itself.
      await proxy.up();
      const restoredAt = Date.now();
      await until('/readyz 200 again', async () => (await fetch(`${baton.url}/readyz`)).status === 200, 30_000, 100);
      const readyAfterMs = Date.now() - restoredAt;
      const after = await baton.api('POST', '/api/handoffs', intakeBody({ team: 1 }));
      expect(after.status).toBe(201);
      // Clients re-send what was refused, with the same key: created now, or found if it had committed.
      const resent = await Promise.all(keys.map((k, i) => (burst[i]!.status === 503 ? baton.api('POST', '/api/handoffs', bodies[i], { 'idempotency-key': k }) : Promise.resolve(burst[i]!))));
      expect(resent.every((r) => r.status === 201 || r.status === 200)).toBe(true);
      const committedDespite503 = resent.filter((r, i) => burst[i]!.status === 503 && r.status === 200).length;
      // The outbox and the SLA engine caught up by themselves.
      await until('every delivery done', async () => (await direct.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox_delivery WHERE delivered_at IS NULL`))[0]!.n === '0', 60_000, 200);
      const recoveredMs = Date.now() - restoredAt;
      // Deliveries caught mid-batch by the outage are released as soon as the database is back,
      // not after their one-minute claim runs out.
      expect(recoveredMs).toBeLessThan(30_000);

      // Nothing half-written: exactly the handoffs that were created, each complete; no stray rows.
      const rows = await rowCounts(direct.sql);
      const created = 20 + 1;
      expect(rows.handoff! - before.handoff!).toBe(created);
      expect(rows.handoff_event! - before.handoff_event!).toBe(2 * created);
      expect(rows.outbox_event! - before.outbox_event!).toBe(created);
      const idem = await direct.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM handoff WHERE idempotency_key LIKE 'db-outage-%'`);
      expect(idem[0]!.n).toBe('20');
      const orphans = await direct.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM account a WHERE NOT EXISTS (SELECT 1 FROM handoff h WHERE h.account_id = a.id)`);
      expect(orphans[0]!.n).toBe('0');
      expect(diffCounts(before, rows)).toMatchObject({ handoff: created });

      recordFigures('database-outage', {
        outageMs: restoredAt - cutAt,
        burstAtCut: { committed: burst.filter((r) => r.status === 201).length, refused503: burst.filter((r) => r.status === 503).length, committedDespite503 },
        msToAnswerDuringOutage: Object.fromEntries([['readyz', readyz.ms], ...Object.entries(answers).map(([k, a]) => [k, a.ms])]),
        readyzProbes: probes.length,
        readyAgainAfterMs: readyAfterMs,
        allDeliveriesCaughtUpAfterMs: recoveredMs,
      });
    });
  });

  describe('the process itself (bots/main.ts) when PostgreSQL restarts', () => {
    /**
     * Found by this suite: Agenda's PostgreSQL notification channel (the LISTEN connection) emits
     * 'error' when the database drops its connections, and with no listener Node threw it out of
     * pg's socket handler, so `npm start` exited instead of waiting for the database. The
     * scheduler now listens (src/jobs/agendaScheduler.ts) and the channel reconnects by itself.
     */
    it('survives a 2-second cut of every database connection and is ready again afterwards', async () => {
      const proxy2 = new TcpProxy(target.hostname, Number(target.port || 5432));
      await proxy2.up();
      const dbh = childDatabase(reliabilityPlaybookYaml({ teams: 2 }));
      const url = new URL(dbh.env.DATABASE_URL!);
      url.hostname = '127.0.0.1';
      url.port = String(proxy2.port);
      const child = await startChildBaton({ ...dbh.env, DATABASE_URL: url.toString() });
      try {
        expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
        await proxy2.cut();
        await sleep(2000);
        await proxy2.up();
        await until('ready again, or gone', async () => child.proc.exitCode !== null || child.proc.signalCode !== null || (await fetch(`${child.url}/readyz`).then((r) => r.status === 200, () => false)), 20_000, 200);
        expect(child.proc.exitCode).toBeNull();
        expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
      } finally {
        await child.kill('SIGKILL');
        await proxy2.cut();
        await dbh.drop();
      }
    });
  });
}

// The embedded database only; the PostgreSQL run of the suite covers the server above.
if (!base) describe('PGlite stalled behind one long statement', () => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton({ playbook });
  });
  afterAll(async () => {
    await baton?.stop();
  });

  it('/readyz 503 within its bound, requests 503 (not 500) while stalled, fine afterwards', async () => {
    const STALL_MS = 12_000; // longer than a transaction's 10-second wait for the database
    expect((await baton.api('POST', '/api/handoffs', intakeBody({ team: 1 }))).status).toBe(201);
    const before = await rowCounts(baton.db.sql);
    const stall = baton.db.sql.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await sleep(STALL_MS);
    });
    await sleep(50);
    const readyz = await timed(() => statusOf(fetch(`${baton.url}/readyz`)));
    const [intake, list] = await Promise.all([timed(() => baton.api('POST', '/api/handoffs', intakeBody({ team: 2 }))), timed(() => baton.api('GET', '/api/handoffs'))]);
    await stall;
    expect(readyz.value).toBe(503);
    expect(readyz.ms).toBeLessThan(3000);
    // Waiting its turn for up to 10 s is fine; then 503 and nothing written, or it got through.
    for (const [name, a] of Object.entries({ intake, list })) {
      expect([name, a.value.status === 503 ? a.value.json.error.code : a.value.status < 300 ? 'ok' : a.value.status]).toEqual([name, a.value.status === 503 ? 'unavailable' : 'ok']);
      expect([name, a.ms < STALL_MS + 5000]).toEqual([name, true]);
    }
    expect((await fetch(`${baton.url}/readyz`)).status).toBe(200);
    const after = await rowCounts(baton.db.sql);
    if (intake.value.status === 503) expect(after.handoff).toBe(before.handoff);
    expect((await baton.api('POST', '/api/handoffs', intakeBody({ team: 1 }))).status).toBe(201);
    recordFigures('database-stall-pglite', { stallMs: STALL_MS, readyzMs: readyz.ms, intake: { status: intake.value.status, ms: intake.ms }, list: { status: list.value.status, ms: list.ms } });
  });
});
