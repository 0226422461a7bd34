/**
 * Wiring: configuration → playbook → database (+ migrations) → core services → HTTP server.
 * `startBaton` is what `npm start` runs and what integration tests start on a random port.
 */
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Config } from './config.js';
import { systemClock, type Clock } from './clock.js';
import { createLogger, type Logger } from './logger.js';
import { loadPlaybook } from './playbook/load.js';
import type { Playbook } from './playbook/schema.js';
import { openDatabase, type Database } from './store/database.js';
import { applyMigrations, projectRoot } from './store/migrate.js';
import { startEmbeddedMaintenance } from './store/maintenance.js';
import { lockDataDir, PGLITE_DIR, tightenDataDir } from './store/dataDir.js';
import { resolveApiToken } from './apiToken.js';
import { syncDirectory } from './directory.js';
import { HandoffService } from './handoffs.js';
import { OutboxDispatcher, type OutboxConsumer } from './outbox.js';
import { createHttpApp } from './api/server.js';
import { listen, type HttpTimeouts } from './api/listen.js';
import { PlatformStore } from './platformStore.js';
import { createJobScheduler, type JobSchedulerOptions } from './jobs/agendaScheduler.js';
import type { JobScheduler } from './jobs/scheduler.js';
import { SlaEngine } from './sla/engine.js';
import { DigestScheduler } from './digest.js';
import { createReports, type Reports } from './reports/index.js';
import { crmWebhooks } from './webhooks/routes.js';
import { webhookConsumers } from './webhooks/outbound.js';
import { subscriptionStatusRoute, webhookGauges } from './webhooks/status.js';
import { handoffMetrics, instrumentRuntime, Metrics } from './metrics.js';

export interface BatonOptions {
  config: Config;
  log?: Logger;
  clock?: Clock;
  /** Use this playbook instead of reading config.playbookPath (tests). */
  playbook?: Playbook;
  /** Use this database instead of opening one from config (tests share one per file). */
  db?: Database;
  /** Extra outbox consumers (tests). */
  consumers?: OutboxConsumer[];
  /**
   * Send the playbook's outbound webhooks (default true). A demo or a copy of production's data
   * turns them off, so its events never reach the real subscribers (nor need their secrets).
   */
  webhooks?: boolean;
  /** Extra HTTP mounts (tests). */
  mounts?: ((app: Express) => void)[];
  /**
   * Platform adapters (bots/). The core calls them with its services and never imports them:
   * adding a platform touches bots/ and blocks/ only.
   */
  plugins?: PluginFactory[];
  /**
   * Tuning of the Agenda job scheduler (tests, benchmarks); defaults suit production. With `db`
   * on PostgreSQL, pass `databaseUrl` (of that database) so Agenda gets its own pool and NOTIFY.
   */
  jobs?: Partial<Pick<JobSchedulerOptions, 'databaseUrl' | 'processEveryMs' | 'lockLifetimeMs' | 'concurrency' | 'lockLimit' | 'backoff' | 'instanceName' | 'stopTimeoutMs'>>;
  /** The HTTP server's timeouts (src/api/listen.ts); defaults suit production, tests shorten them. */
  http?: Partial<HttpTimeouts>;
}

/** What the core hands a platform adapter. */
export interface CoreContext {
  config: Config;
  /** The settled API token (BATON_API_TOKEN or the generated file, checked by src/apiToken.ts). */
  apiToken: string;
  service: HandoffService;
  /** KPIs, timelines and digests for commands and digest delivery. */
  reports: Reports;
  platformStore: PlatformStore;
  db: Database;
  outbox: OutboxDispatcher;
  clock: Clock;
  log: Logger;
  /** The jobs port, e.g. to show a handoff's pending SLA timers: `jobs.list({ match: { handoffId } })`. Optional so hand-built contexts (tests) need not make one. */
  jobs?: JobScheduler;
}

export interface Plugin {
  name: string;
  consumers?: OutboxConsumer[];
  mount?(app: Express): void;
  /** After the HTTP server listens (e.g. Socket Mode connects). */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** Returns undefined when the platform is not configured (it logs why, once). */
export type PluginFactory = (core: CoreContext) => Promise<Plugin | undefined> | Plugin | undefined;

export interface Baton {
  url: string;
  port: number;
  apiToken: string;
  server: Server;
  db: Database;
  service: HandoffService;
  outbox: OutboxDispatcher;
  reports: Reports;
  digests: DigestScheduler;
  /** Agenda, for SLA timers. */
  jobs: JobScheduler;
  /** Counters behind GET /metrics (per process). */
  metrics: Metrics;
  sla: SlaEngine;
  playbook: Playbook;
  log: Logger;
  /**
   * Shuts down gracefully, within config.shutdownGraceMs: readiness goes false and new requests
   * are refused (503) at once; deliveries in hand finish (those claimed but not started are given
   * back), job locks are released (Agenda stop), in-flight requests end; then the database closes.
   */
  close(): Promise<void>;
  /** False from the moment close() is called (GET /readyz answers 503). */
  readonly ready: boolean;
}

export async function startBaton(opts: BatonOptions): Promise<Baton> {
  const { config } = opts;
  const log = opts.log ?? createLogger(config.logLevel, undefined, { format: config.logFormat });
  const clock = opts.clock ?? systemClock;
  const playbook = opts.playbook ?? (await loadPlaybook(config.playbookPath));
  // Before anything is opened: a missing or malformed signing secret refuses the start, all listed.
  const subscriptions = opts.webhooks === false ? [] : webhookConsumers(playbook, config.env, { clock, log });
  if (opts.webhooks === false && playbook.webhooks?.length) log.info({ subscriptions: playbook.webhooks.map((w) => w.id) }, 'outbound webhooks are off for this run');

  const ownDb = !opts.db;
  // First, so a token that cannot be a secret refuses the start before anything else is touched.
  const apiToken = resolveApiToken(config, log);
  // One Baton per embedded database: a second writer would corrupt it (src/store/dataDir.ts).
  const embedded = ownDb && !config.databaseUrl;
  const lock = embedded ? await lockDataDir(config.dataDir, log) : undefined;
  let db: Database;
  try {
    db = opts.db ?? (await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, PGLITE_DIR) }));
  } catch (err) {
    lock?.release();
    throw err;
  }
  try {
    const { applied } = await applyMigrations(db.sql, { dir: join(projectRoot(), 'prisma', 'migrations'), log: (m) => log.info(m) });
    if (applied.length) log.info({ applied }, 'database migrated');
    await syncDirectory(db, playbook);
    // After the database is open and migrated: PGlite has set its own (loose) modes by now.
    if (embedded || (ownDb && config.apiToken === undefined)) tightenDataDir(config.dataDir, log, { embedded });
  } catch (err) {
    if (ownDb) await db.close();
    lock?.release();
    throw err;
  }

  const outbox = new OutboxDispatcher(db.prisma, clock, log.child({ component: 'outbox' }), { pollMs: config.outboxPollMs, leaseMs: config.deliveryLeaseMs });
  for (const c of opts.consumers ?? []) outbox.register(c);
  const metrics = new Metrics();
  const service = new HandoffService({
    db,
    playbook,
    clock,
    log: log.child({ component: 'handoffs' }),
    consumers: () => outbox.list(),
    afterCommit: (names) => outbox.wake(names),
    observers: [handoffMetrics(metrics)],
  });

  // SLA timers: Agenda on the same database (its table is created here, once, before any worker).
  let jobs: JobScheduler;
  try {
    // With a database handed in, config.databaseUrl may name another one: only use it for ours.
    // Running handlers get most of the shutdown grace; the rest is for closing up.
    const stopTimeoutMs = Math.floor(config.shutdownGraceMs * 0.6);
    jobs = await createJobScheduler({ db, databaseUrl: ownDb ? config.databaseUrl : undefined, log: log.child({ component: 'jobs' }), stopTimeoutMs, ...opts.jobs });
  } catch (err) {
    if (ownDb) await db.close();
    lock?.release();
    throw err;
  }
  // Before anything defines a job: wraps the jobs port to time them.
  instrumentRuntime(metrics, { jobs, outbox, clock });
  const digests = new DigestScheduler({ db, playbook, jobs, clock, log: log.child({ component: 'digest' }), consumers: () => outbox.list(), afterCommit: () => outbox.wake() });
  digests.register();
  const reports = createReports({ db, playbook, service, digests, publicUrl: config.publicUrl });
  const sla = new SlaEngine({ service, db, jobs, clock, log: log.child({ component: 'sla' }) });
  sla.register();
  outbox.register(sla);
  for (const c of subscriptions) outbox.register(c);
  const subscribed = () => subscriptions.map((c) => c.subscription);
  metrics.addGauges('webhooks', webhookGauges(db.prisma, subscribed));

  const plugins: Plugin[] = [];
  for (const factory of opts.plugins ?? []) {
    const plugin = await factory({ config, apiToken, service, reports, platformStore: new PlatformStore(db, clock), db, outbox, clock, log, jobs });
    if (!plugin) continue;
    plugins.push(plugin);
    for (const c of plugin.consumers ?? []) outbox.register(c);
  }

  let ready = true;
  // First of the mounts: once shutting down, every request but the probes is refused, so the load
  // balancer (which sees /readyz fail) retries it on another instance.
  const refuseWhenShuttingDown = (app: Express) =>
    app.use((_req, res, next) => {
      if (ready) return next();
      res.setHeader('connection', 'close');
      res.setHeader('retry-after', '1');
      res.status(503).json({ error: { code: 'shutting_down', message: 'Baton is shutting down; send this to another instance.' } });
    });
  const mounts = [
    refuseWhenShuttingDown,
    ...(opts.mounts ?? []),
    crmWebhooks({ config, service, clock, log }),
    subscriptionStatusRoute({ prisma: db.prisma, subscriptions: subscribed, apiToken }),
    ...plugins.flatMap((p) => (p.mount ? [p.mount.bind(p)] : [])),
  ];
  const app = createHttpApp({ service, db, log: log.child({ component: 'http' }), apiToken, mounts, metrics, ready: () => ready });
  let server: Server;
  try {
    server = await listen(app, config.port, config.host, opts.http);
  } catch (err) {
    // A busy port: let go of the database and the data directory's lock before saying so.
    await jobs.stop().catch(() => undefined);
    if (ownDb) await db.close().catch(() => undefined);
    lock?.release();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  outbox.start();
  // Only now: a timer that came due while the app was down fires at once, and its nudge or
  // escalation must find every platform's outbox consumer registered.
  await jobs.start();
  await digests.armAll();
  for (const p of plugins) await p.start?.();
  // PGlite has no autovacuum: keep its planner statistics fresh and its dead rows reclaimed.
  const maintenance = db.kind === 'pglite' ? startEmbeddedMaintenance(db.sql, log.child({ component: 'db' })) : undefined;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info({ url, database: db.description, playbook: config.playbookPath, transitions: playbook.transitions.length, people: playbook.people.length, platforms: plugins.map((p) => p.name) }, 'Baton is listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    apiToken,
    server,
    db,
    service,
    outbox,
    jobs,
    metrics,
    sla,
    reports,
    digests,
    playbook,
    log,
    get ready() {
      return ready;
    },
    close() {
      closing ??= (async () => {
        ready = false;
        const startedAt = Date.now();
        // Deliveries may run for most of the grace; the rest is for the steps after them.
        await Promise.all([outbox.stop({ deadline: startedAt + Math.floor(config.shutdownGraceMs * 0.6) }), jobs.stop()]);
        for (const p of plugins) await p.stop?.().catch((err: unknown) => log.warn({ err, plugin: p.name }, 'plugin failed to stop cleanly'));
        // Requests already in progress may end (new ones were refused since the start of close).
        await new Promise<void>((resolve) => {
          const cut = setTimeout(() => {
            server.closeAllConnections();
            resolve();
          }, Math.max(0, startedAt + Math.floor(config.shutdownGraceMs * 0.8) - Date.now()));
          cut.unref();
          server.close(() => {
            clearTimeout(cut);
            resolve();
          });
          server.closeIdleConnections();
        });
        server.closeAllConnections();
        await maintenance?.stop();
        if (ownDb) await db.close();
        lock?.release();
      })();
      return closing;
    },
  };
}
