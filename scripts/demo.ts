/**
 * `npm run demo`: Baton with six weeks of realistic handoffs, in a database of its own, with Slack
 * and Teams off — the console shows the story, and nothing reaches a real channel.
 *
 * 1. Where: its own data directory, <BATON_DATA_DIR or .baton-data>/demo (embedded PGlite), or with
 *    DATABASE_URL its own schema on that server (`baton_demo`, or `<schema>_demo` when the URL
 *    names one). `npm start` never sees the demo's handoffs or their pending timers, and the demo
 *    never touches `npm start`'s data.
 * 2. Seeds handoffs across all eight transitions of the playbook, spread over the past six weeks,
 *    so the console, the /handoff commands, the KPIs and the weekly digest have data. Everything
 *    goes through the core, as if Baton had been running all along: HandoffService with a clock
 *    this script moves (intakes, accepts, rejects with reasons, reassignments, first touches,
 *    completions), and the real SLA engine, whose timers fire when the clock passes them — so
 *    nudges, breaches (sla_breach rows), escalations and automatic reassignments are recorded
 *    exactly as in production. Timers still pending at the end (handoffs left open) go into the
 *    demo's job store. Seeded events get no platform deliveries.
 * 3. Starts Baton on that database with the console and without Slack or Teams, even when their
 *    credentials are set: `--with-slack` / `--with-teams` turn them on (then the demo's live
 *    timers and new handoffs post there, as asked).
 *
 * Idempotent: each seeded handoff has a fixed idempotency key (`baton-demo:v1:<transition>:<n>`);
 * a second run finds them, creates nothing and says so. Delete the demo directory (or schema) to
 * start over.
 *
 *   npm run demo                               seed .baton-data/demo, then run Baton on it
 *   npm run demo -- --seed-only                seed and exit
 *   npm run demo -- --with-slack --with-teams  run it with the configured platforms on
 *   options: --per-transition 10  --weeks 6
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Config } from '../src/config.js';
import { lockDataDir, type DataDirLock } from '../src/store/dataDir.js';
import { DataDirInUseError } from '../src/errors.js';
import type { PluginFactory } from '../src/app.js';
import { consolePlugin } from '../bots/console/plugin.js';
import { slackPlugin } from '../bots/slack/plugin.js';
import { teamsPlugin } from '../bots/teams/plugin.js';
import { loadConfigOrExit, runBaton } from '../bots/run.js';
import { ManualClock } from '../src/clock.js';
import { BatonError, ConflictError } from '../src/errors.js';
import { loadPlaybook } from '../src/playbook/load.js';
import type { Person, Playbook, Transition } from '../src/playbook/schema.js';
import { exampleRequest } from '../src/playbook/packet.js';
import { mulberry32 as rng } from './rng.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { applyMigrations, projectRoot } from '../src/store/migrate.js';
import { syncDirectory } from '../src/directory.js';
import { HandoffService } from '../src/handoffs.js';
import { SlaEngine } from '../src/sla/engine.js';
import { addBusinessTime, businessTimeBetween } from '../src/sla/businessTime.js';
import type { BusinessCalendar } from '../src/sla/businessCalendar.js';
import { createJobScheduler } from '../src/jobs/agendaScheduler.js';
import type { JobData, JobFilter, JobHandler, JobScheduler, PendingJob, ScheduleOptions, ScheduleRequest } from '../src/jobs/scheduler.js';
import { RetryAfterError } from '../src/retry.js';
import type { HandoffView } from '../src/domain/view.js';
import type { TimerJobData } from '../src/sla/plan.js';

export const DEMO_KEY_PREFIX = 'baton-demo:v1:';
const DAY = 86_400_000;

// -------------------------------------------------------------------------------------------------
// The demo's own database and platforms

/** The directory under the data directory that holds the demo's embedded database, token and lock. */
export const DEMO_DIR = 'demo';

/** The demo's schema on a PostgreSQL server: `baton_demo`, or `<schema>_demo` when the URL names one. */
export function demoDatabaseUrl(url: string): string {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  u.searchParams.set('schema', schema ? `${schema}_demo` : 'baton_demo');
  return u.toString();
}

export interface DemoPlatforms {
  withSlack?: boolean;
  withTeams?: boolean;
}

/**
 * The configuration the demo runs with: its own database (see the top of this file), the console
 * on, and Slack and Teams only when asked — their credentials being set is not asking.
 */
export function demoConfig(config: Config, platforms: DemoPlatforms = {}): Config {
  return {
    ...config,
    dataDir: join(config.dataDir, DEMO_DIR),
    databaseUrl: config.databaseUrl ? demoDatabaseUrl(config.databaseUrl) : undefined,
    slack: platforms.withSlack ? config.slack : undefined,
    teams: platforms.withTeams ? config.teams : undefined,
    console: true,
  };
}

/** The adapters of a demo run: the console, and the platforms asked for. */
export function demoPlugins(platforms: DemoPlatforms = {}): PluginFactory[] {
  return [...(platforms.withSlack ? [slackPlugin] : []), ...(platforms.withTeams ? [teamsPlugin] : []), consolePlugin];
}

// -------------------------------------------------------------------------------------------------
// Guard: the embedded database is one process

/**
 * Processes (other than this one) holding files of the PGlite data directory open. PGlite keeps
 * its relation files open while it runs; /proc tells who. null where /proc does not exist.
 */
export function pgliteHolders(dataDir: string): { pid: number; command: string }[] | null {
  if (!existsSync('/proc/self/fd') || !existsSync(dataDir)) return existsSync('/proc/self/fd') ? [] : null;
  const root = realpathSync(dataDir);
  const holders: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        return target === root || target.startsWith(root + '/');
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      command = '?';
    }
    holders.push({ pid: Number(entry), command });
  }
  return holders;
}

export class DatabaseInUseError extends Error {}

export function assertEmbeddedDatabaseFree(dataDir: string): void {
  const holders = pgliteHolders(dataDir);
  if (holders === null) {
    // No /proc (macOS): PGlite's postmaster.pid exists while it runs and is removed on close.
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      throw new DatabaseInUseError(
        `The embedded database in ${dataDir} looks in use (postmaster.pid exists): stop Baton first — PGlite serves one process at a time. ` +
          `If no Baton is running (it crashed), delete ${join(dataDir, 'postmaster.pid')} and run the demo again.`,
      );
    }
    return;
  }
  if (holders.length) {
    throw new DatabaseInUseError(
      `The embedded database in ${dataDir} is in use by ${holders.map((h) => `process ${h.pid} (${h.command.slice(0, 120)})`).join(', ')}. ` +
        'PGlite serves one process at a time: stop Baton (Ctrl-C), run `npm run demo`, then start Baton again. ' +
        '(With DATABASE_URL on a PostgreSQL server the demo can run beside Baton.)',
    );
  }
}

// -------------------------------------------------------------------------------------------------
// Timers in memory while the clock is moved by hand

/**
 * The jobs port in memory: the SLA engine arms timers here while the script moves the clock, and
 * the script fires the due ones itself (in time order). What is still pending at the end is
 * copied to the real job store.
 */
export class MemoryJobs implements JobScheduler {
  readonly backendName = 'memory (demo seed)';
  readonly jobs = new Map<string, { name: string; key: string; runAt: Date; data: JobData }>();

  define<D extends JobData>(_name: string, _handler: JobHandler<D>): void {}

  async schedule<D extends JobData>(req: ScheduleRequest<D>, opts: ScheduleOptions = {}): Promise<void> {
    if (this.jobs.has(req.key) && opts.replace !== true) return;
    this.jobs.set(req.key, { name: req.name, key: req.key, runAt: req.runAt, data: req.data });
  }

  private matches(j: { name: string; key: string; data: JobData }, f: JobFilter): boolean {
    if (f.name && j.name !== f.name) return false;
    if (f.keys && !f.keys.includes(j.key)) return false;
    if (f.match && !Object.entries(f.match).every(([k, v]) => j.data[k] === v)) return false;
    return true;
  }

  async cancel(filter: JobFilter): Promise<number> {
    if (!filter.name && !filter.keys && !filter.match) return 0;
    let n = 0;
    for (const [key, j] of this.jobs) {
      if (this.matches(j, filter)) {
        this.jobs.delete(key);
        n++;
      }
    }
    return n;
  }

  async list<D extends JobData = JobData>(filter: JobFilter = {}): Promise<PendingJob<D>[]> {
    return [...this.jobs.values()]
      .filter((j) => this.matches(j, filter))
      .sort((a, b) => a.runAt.getTime() - b.runAt.getTime())
      .map((j) => ({ id: j.key, name: j.name, key: j.key, runAt: j.runAt, data: j.data as D, lockedAt: null, failCount: 0 }));
  }

  /** The earliest pending job, if any. */
  next(): { name: string; key: string; runAt: Date; data: JobData } | undefined {
    let best: { name: string; key: string; runAt: Date; data: JobData } | undefined;
    for (const j of this.jobs.values()) if (!best || j.runAt < best.runAt) best = j;
    return best;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

// -------------------------------------------------------------------------------------------------
// What to seed

type Fate =
  | 'accept_fast' // accepted well within the SLA, first touch, completed if old enough
  | 'accept_nudged' // accepted late in the window, after the nudges
  | 'breach_then_accept' // accept SLA breached (escalated), accepted afterwards
  | 'auto_reassigned' // nobody accepts: escalations, then Baton reassigns; the new owner accepts
  | 'reject' // rejected with a reason and a note
  | 'reassign' // the owner hands it to someone else, who accepts
  | 'first_touch_breach' // accepted on time, first touch after its SLA
  | 'withdrawn' // the sender withdraws it
  | 'open' // left waiting (recent, within its SLA): its nudges and breach are still pending
  | 'open_breached'; // left waiting past its deadline: escalated, its next steps pending

/** Per transition, in creation order (oldest first), rotated by transition; the last one or two of each are left open. */
const FATES: Fate[] = ['accept_fast', 'reject', 'accept_nudged', 'breach_then_accept', 'reassign', 'accept_fast', 'auto_reassigned', 'first_touch_breach', 'accept_fast', 'withdrawn'];

const ACCOUNTS = [
  { name: 'Acme Logistics', domain: 'acme-logistics.example', crmId: '0015g00000AcmeLGX', region: 'NA', segment: 'enterprise' },
  { name: 'Brightwater Foods', domain: 'brightwater-foods.example', crmId: '0015g00000BwFoods', region: 'EMEA', segment: 'mid_market' },
  { name: 'Cobalt Bank', domain: 'cobalt-bank.example', crmId: '0015g00000CobaltB', region: 'EMEA', segment: 'enterprise' },
  { name: 'Delta Dental Group', domain: 'deltadental-group.example', crmId: '0015g00000DeltaDG', region: 'NA', segment: 'mid_market' },
  { name: 'Elmstead Schools', domain: 'elmstead.example', crmId: '0015g00000ElmSchl', region: 'UK&I', segment: 'smb' },
  { name: 'Fjord Shipping', domain: 'fjord-shipping.example', crmId: '0015g00000FjordSh', region: 'EMEA', segment: 'enterprise' },
  { name: 'Greenline Energy', domain: 'greenline-energy.example', crmId: '0015g00000GreenEn', region: 'NA', segment: 'enterprise' },
  { name: 'Harbourview Hotels', domain: 'harbourview.example', crmId: '0015g00000HarbHtl', region: 'APAC', segment: 'mid_market' },
  { name: 'Ivory Insurance', domain: 'ivory-insurance.example', crmId: '0015g00000IvoryIn', region: 'DACH', segment: 'enterprise' },
  { name: 'Jasper Manufacturing', domain: 'jasper-mfg.example', crmId: '0015g00000JaspMfg', region: 'NA', segment: 'mid_market' },
  { name: 'Kiwi Telecom', domain: 'kiwi-telecom.example', crmId: '0015g00000KiwiTel', region: 'APAC', segment: 'enterprise' },
  { name: 'Lumen Clinics', domain: 'lumen-clinics.example', crmId: '0015g00000LumenCl', region: 'NA', segment: 'smb' },
  { name: 'Meridian Retail', domain: 'meridian-retail.example', crmId: '0015g00000MeridRt', region: 'UK&I', segment: 'mid_market' },
  { name: 'Northstar Media', domain: 'northstar-media.example', crmId: '0015g00000NstarMd', region: 'NA', segment: 'mid_market' },
  { name: 'Orchid Pharma', domain: 'orchid-pharma.example', crmId: '0015g00000OrchPhm', region: 'DACH', segment: 'enterprise' },
  { name: 'Pioneer Freight', domain: 'pioneer-freight.example', crmId: '0015g00000PionFrt', region: 'NA', segment: 'smb' },
  { name: 'Quartz Analytics', domain: 'quartz-analytics.example', crmId: '0015g00000QuartzA', region: 'EMEA', segment: 'smb' },
  { name: 'Redwood Credit Union', domain: 'redwood-cu.example', crmId: '0015g00000RedwdCU', region: 'NA', segment: 'mid_market' },
  { name: 'Saffron Hospitality', domain: 'saffron-hospitality.example', crmId: '0015g00000SaffHsp', region: 'APAC', segment: 'smb' },
  { name: 'Tidewater Utilities', domain: 'tidewater-utilities.example', crmId: '0015g00000TideUtl', region: 'NA', segment: 'enterprise' },
] as const;

const REJECT_NOTES: Record<string, string> = {
  missing_context: 'No stakeholders or timeline in the packet; please add who we met and what they need by when.',
  duplicate: 'Already in play: see the open handoff for this account from last week.',
  wrong_owner: 'This account sits in another territory; please re-route to the right team.',
  not_icp: 'Under 50 employees and no finance team: nurture instead.',
  no_consent: 'Consent was not recorded for this contact.',
  too_early: 'No technical evaluation planned yet; come back after the discovery call.',
  not_qualified: 'No budget this year and no pain confirmed by the buyer.',
};

function rejectNote(code: string, label: string): string {
  return REJECT_NOTES[code] ?? `${label}: details in the CRM record.`;
}


interface Planned {
  index: number;
  transition: Transition;
  fate: Fate;
  createdAt: Date;
  body: { transition: string; account: Record<string, string>; from: string; packet: Record<string, unknown> };
  key: string;
  rand: () => number;
}

interface Step {
  at: Date;
  seq: number;
  run: () => Promise<void>;
}

export interface DemoSummary {
  created: number;
  alreadyThere: number;
  byTransition: Record<string, Record<string, number>>;
  breaches: number;
  pendingTimers: number;
  skippedSteps: number;
  database: string;
}

export interface SeedOptions {
  config: Config;
  playbook?: Playbook;
  /** "Now" (default: the real time): the seeded history ends here. */
  now?: Date;
  perTransition?: number;
  weeks?: number;
  /** Progress lines (default: none). */
  print?: (line: string) => void;
}

export async function seedDemo(opts: SeedOptions): Promise<DemoSummary> {
  const { config } = opts;
  const print = opts.print ?? (() => undefined);
  const playbook = opts.playbook ?? (await loadPlaybook(config.playbookPath));
  const dataDir = join(config.dataDir, 'pglite');
  let lock: DataDirLock | undefined;
  if (!config.databaseUrl) {
    assertEmbeddedDatabaseFree(dataDir);
    // The lock Baton takes: a demo Baton (or a second seed) on this directory waits its turn.
    lock = await lockDataDir(config.dataDir, pino({ level: 'silent' }));
  }
  try {
    return await seedInto(opts, playbook, dataDir);
  } finally {
    lock?.release();
  }
}

async function seedInto(opts: SeedOptions, playbook: Playbook, dataDir: string): Promise<DemoSummary> {
  const { config } = opts;
  const print = opts.print ?? (() => undefined);

  const end = opts.now ?? new Date();
  const weeks = opts.weeks ?? 6;
  const perTransition = opts.perTransition ?? 12;
  const start = new Date(end.getTime() - weeks * 7 * DAY);
  const clock = new ManualClock(start);
  const log = pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' });

  const db: Database = await openDatabase({ url: config.databaseUrl, dataDir });
  try {
    await applyMigrations(db.sql, { dir: join(projectRoot(), 'prisma', 'migrations'), log: () => undefined });
    await syncDirectory(db, playbook);
    print(`Seeding ${db.description} with ${perTransition} handoffs per transition over ${weeks} weeks…`);

    // No outbox consumers: seeded history must not be posted to Slack or Teams when Baton starts.
    // The SLA engine gets each event straight from the outbox table instead (pump below).
    const service = new HandoffService({ db, playbook, clock, log, consumers: () => [] });
    const jobs = new MemoryJobs();
    const sla = new SlaEngine({ service, db, jobs, clock, log });
    let lastEventId = BigInt((await db.prisma.outboxEvent.aggregate({ _max: { id: true } }))._max.id ?? 0);
    const pump = async () => {
      const rows = await db.prisma.outboxEvent.findMany({ where: { id: { gt: lastEventId } }, orderBy: { id: 'asc' } });
      for (const r of rows) {
        lastEventId = r.id;
        await sla.handle({ id: String(r.id), handoffId: r.handoffId, type: r.type, payload: r.payload as Record<string, unknown>, createdAt: r.createdAt });
      }
    };

    const plans = planDemo(playbook, start, end, perTransition);
    const steps: Step[] = [];
    let seq = 0;
    const at = (when: Date, run: () => Promise<void>) => steps.push({ at: when, seq: seq++, run });
    let created = 0;
    let alreadyThere = 0;
    let skippedSteps = 0;

    for (const p of plans) {
      at(p.createdAt, async () => {
        const r = await service.intake(p.body, { idempotencyKey: p.key });
        if (!r.created) {
          alreadyThere++;
          return;
        }
        created++;
        script(p, r.handoff);
      });
    }

    const cal = (t: Transition) => playbook.teams.find((x) => x.id === t.toTeamId)!.calendar;
    const after = (from: Date, fraction: number, ms: number, t: Transition) => addBusinessTime(from, Math.max(60_000, Math.round(fraction * ms)), cal(t));
    /** Runs `fn` at `when` (if it is not in the future) as the handoff's current owner. */
    const asOwner = (p: Planned, id: number, when: Date, fn: (view: HandoffView) => Promise<HandoffView | void>) => {
      if (when > end) return;
      at(when, async () => {
        try {
          await fn(await service.get(id, { events: false }));
        } catch (err) {
          // A step the story no longer allows (e.g. Baton reassigned it first) is skipped, as a person would.
          skippedSteps++;
          if (!(err instanceof BatonError)) throw err;
          log.debug({ handoffId: id, err: err.message, fate: p.fate }, 'demo: step skipped');
        }
      });
    };

    /** The follow-up steps of one handoff, decided by its fate. */
    function script(p: Planned, h: HandoffView): void {
      const t = p.transition;
      const r = p.rand;
      const created = new Date(h.createdAt);
      const acceptMs = t.sla.acceptMs;
      const touchMs = t.sla.firstTouchMs;
      const onAccepted = (acceptedAt: Date, lateTouch: boolean) => {
        const touchAt = after(acceptedAt, lateTouch ? 1.25 + r() * 0.3 : 0.15 + r() * 0.5, touchMs, t);
        asOwner(p, h.id, touchAt, async (v) => service.act(v.id, { action: 'touch', actor: v.owner.id }));
        const completeAt = new Date(touchAt.getTime() + (2 + r() * 8) * DAY);
        if (r() < 0.6 && completeAt.getTime() < end.getTime() - 2 * DAY) asOwner(p, h.id, completeAt, async (v) => service.act(v.id, { action: 'complete', actor: v.owner.id }));
      };
      const accept = (when: Date, lateTouch = false) => {
        asOwner(p, h.id, when, async (v) => service.act(v.id, { action: 'accept', actor: v.owner.id }));
        onAccepted(when, lateTouch);
      };
      switch (p.fate) {
        case 'accept_fast':
          accept(after(created, 0.1 + r() * 0.35, acceptMs, t));
          break;
        case 'accept_nudged':
          accept(after(created, 0.84 + r() * 0.12, acceptMs, t));
          break;
        case 'breach_then_accept':
          accept(after(created, 1 + Math.min(0.45, (0.4 * t.escalation.repeatEveryMs) / acceptMs) * r() + 0.02, acceptMs, t));
          break;
        case 'first_touch_breach':
          accept(after(created, 0.2 + r() * 0.3, acceptMs, t), true);
          break;
        case 'auto_reassigned': {
          if (t.escalation.reassignAfterMs === null) {
            // This transition never reassigns by itself: the breach stands until someone accepts.
            accept(after(created, 1.3 + r() * 0.3, acceptMs, t));
            break;
          }
          // The SLA engine escalates and then reassigns; the new owner accepts in their new window.
          const reassignedAt = addBusinessTime(new Date(h.slaAcceptDueAt!), t.escalation.reassignAfterMs, cal(t));
          accept(after(reassignedAt, 0.25 + r() * 0.3, acceptMs, t));
          break;
        }
        case 'reject': {
          const reason = t.rejectReasons[Math.floor(r() * t.rejectReasons.length)]!;
          asOwner(p, h.id, after(created, 0.2 + r() * 0.5, acceptMs, t), async (v) =>
            service.act(v.id, { action: 'reject', actor: v.owner.id, reasonCode: reason.code, note: rejectNote(reason.code, reason.label) }),
          );
          break;
        }
        case 'reassign': {
          const when = after(created, 0.15 + r() * 0.3, acceptMs, t);
          asOwner(p, h.id, when, async (v) => {
            const mates = playbook.people.filter((x) => x.teamId === t.toTeamId && x.active && x.id !== v.owner.id && x.awayUntil === null);
            const note = r() < 0.5 ? 'Out at a customer workshop the rest of the week.' : 'Better fit for their book: they already know this account.';
            const named = mates.length ? mates[Math.floor(r() * mates.length)]!.id : undefined;
            if (named && r() >= 0.5) return service.act(v.id, { action: 'reassign', actor: v.owner.id, to: named, note });
            try {
              return await service.act(v.id, { action: 'reassign', actor: v.owner.id, to: 'queue', note });
            } catch (err) {
              // Nobody else free in the queue (e.g. the only other member is away): name a teammate.
              if (!(err instanceof ConflictError) || !named) throw err;
              return service.act(v.id, { action: 'reassign', actor: v.owner.id, to: named, note });
            }
          });
          accept(after(when, 0.2 + r() * 0.4, acceptMs, t));
          break;
        }
        case 'withdrawn':
          asOwner(p, h.id, after(created, 0.3 + r() * 0.4, acceptMs, t), async (v) =>
            service.act(v.id, { action: 'withdraw', actor: v.from.id, note: 'The customer postponed the project; we will hand it over again next quarter.' }),
          );
          break;
        case 'open':
        case 'open_breached':
          break;
      }
    }

    // The clock moves from one thing to the next: a scripted step or a due SLA timer.
    for (;;) {
      steps.sort((a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq);
      const step = steps[0];
      const timer = jobs.next();
      const stepAt = step && step.at <= end ? step.at.getTime() : Infinity;
      const timerAt = timer && timer.runAt <= end ? timer.runAt.getTime() : Infinity;
      if (stepAt === Infinity && timerAt === Infinity) break;
      if (timerAt < stepAt) {
        clock.set(new Date(Math.max(timerAt, clock.now().getTime())));
        jobs.jobs.delete(timer!.key);
        try {
          await sla.fire({ key: timer!.key, data: timer!.data as TimerJobData });
        } catch (err) {
          if (!(err instanceof RetryAfterError)) throw err;
          await jobs.schedule({ name: timer!.name, key: timer!.key, runAt: new Date(clock.now().getTime() + Math.max(1000, err.retryAfterMs)), data: timer!.data });
        }
      } else {
        steps.shift();
        clock.set(new Date(Math.max(stepAt, clock.now().getTime())));
        await step!.run();
      }
      await pump();
    }
    clock.set(end);

    // Timers of the handoffs left open: into the real store, for Baton to fire when their time comes.
    const pending = await jobs.list();
    if (pending.length) {
      const store = await createJobScheduler({ db, databaseUrl: config.databaseUrl, log });
      try {
        for (const j of pending) await store.schedule({ name: j.name, key: j.key, runAt: j.runAt!, data: j.data });
      } finally {
        await store.stop();
      }
    }

    const summary = await summarise(db, playbook);
    return { created, alreadyThere, skippedSteps, pendingTimers: pending.length, database: db.description, ...summary };
  } finally {
    await db.close();
  }
}

export function planDemo(pb: Playbook, start: Date, end: Date, perTransition: number): Planned[] {
  const out: Planned[] = [];
  pb.transitions.forEach((t, ti) => {
    const team = pb.teams.find((x) => x.id === t.toTeamId)!;
    const senders = pb.people.filter((p: Person) => p.teamId === t.fromTeamId && p.active);
    for (let i = 0; i < perTransition; i++) {
      const rand = rng(1000 * (ti + 1) + i);
      const fate: Fate = i === perTransition - 1 ? 'open' : i === perTransition - 2 && ti % 2 === 0 ? 'open_breached' : FATES[(i + ti) % FATES.length]!;
      let createdAt: Date;
      if (fate === 'open' || fate === 'open_breached') {
        // Open ones are recent: part of their SLA (or a little more than all of it) has passed.
        const ago = (fate === 'open' ? 0.3 + rand() * 0.45 : 1.15 + rand() * 0.3) * t.sla.acceptMs;
        createdAt = businessAgo(end, ago, team.calendar);
      } else {
        // Spread evenly over the period up to two days ago (so the last one lands in this week's
        // digest with time to play out), oldest first, in the receiving team's working hours.
        const settled = end.getTime() - 2 * DAY;
        const slot = start.getTime() + ((i + 0.2 + rand() * 0.6) / (perTransition - 1)) * (settled - start.getTime());
        createdAt = addBusinessTime(new Date(slot), Math.round(rand() * 3 * 3_600_000), team.calendar);
        // A slot on a weekend moves to the next working morning, which may be later than two days ago.
        if (createdAt.getTime() > settled) createdAt = businessAgo(new Date(settled), Math.round(rand() * 3 * 3_600_000), team.calendar);
      }
      if (createdAt >= end || createdAt < start) continue;
      const example = exampleRequest(t, pb);
      const account = ACCOUNTS[(i * 7 + ti * 3) % ACCOUNTS.length]!;
      const from = senders.length ? senders[Math.floor(rand() * senders.length)]!.email : example.from;
      out.push({
        index: i,
        transition: t,
        fate,
        createdAt,
        key: `${DEMO_KEY_PREFIX}${t.id}:${i}`,
        rand,
        body: { transition: t.id, account: { ...account }, from, packet: example.packet },
      });
    }
  });
  return out;
}

/** The moment `ms` of business time before `end` (business time is monotonic in wall time: bisect). */
function businessAgo(end: Date, ms: number, cal: BusinessCalendar): Date {
  let lo = end.getTime() - 60 * DAY;
  let hi = end.getTime();
  for (let k = 0; k < 48; k++) {
    const mid = Math.floor((lo + hi) / 2);
    if (businessTimeBetween(new Date(mid), end, cal) > ms) lo = mid;
    else hi = mid;
  }
  return new Date(hi);
}

async function summarise(db: Database, pb: Playbook): Promise<Pick<DemoSummary, 'byTransition' | 'breaches'>> {
  const where = { idempotencyKey: { startsWith: DEMO_KEY_PREFIX } };
  const groups = await db.prisma.handoff.groupBy({ by: ['transitionId', 'status'], where, _count: { _all: true } });
  const byTransition: Record<string, Record<string, number>> = {};
  for (const t of pb.transitions) byTransition[t.id] = {};
  for (const g of groups) (byTransition[g.transitionId] ??= {})[g.status] = g._count._all;
  const ids = (await db.prisma.handoff.findMany({ where, select: { id: true } })).map((h) => h.id);
  const breaches = await db.prisma.slaBreach.count({ where: { handoffId: { in: ids } } });
  return { byTransition, breaches };
}

function table(summary: DemoSummary): string {
  const statuses = ['routed', 'posted', 'reassigned', 'escalated', 'accepted', 'completed', 'rejected', 'withdrawn'];
  const rows = Object.entries(summary.byTransition).map(([t, counts]) => [t, ...statuses.map((s) => String(counts[s] ?? 0))]);
  const head = ['transition', ...statuses];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'per-transition': { type: 'string' },
      weeks: { type: 'string' },
      'seed-only': { type: 'boolean' },
      'with-slack': { type: 'boolean' },
      'with-teams': { type: 'boolean' },
    },
  });
  const base = loadConfigOrExit();
  const platforms: DemoPlatforms = { withSlack: values['with-slack'] === true, withTeams: values['with-teams'] === true };
  if (platforms.withSlack && !base.slack) fail('--with-slack needs Slack\'s credentials: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see docs/slack.md).');
  if (platforms.withTeams && !base.teams) fail('--with-teams needs the Teams bot\'s credentials: set MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and the tenant (see docs/teams.md).');
  const count = (name: 'per-transition' | 'weeks', min: number, max: number): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max} (got "${raw}").`);
    return n;
  };
  const perTransition = count('per-transition', 2, 100);
  const weeks = count('weeks', 1, 52);
  const config = demoConfig(base, platforms);
  try {
    const summary = await seedDemo({
      config,
      perTransition,
      weeks,
      print: (l) => console.log(l),
    });
    if (summary.created === 0 && summary.alreadyThere > 0) {
      console.log(`The demo data is already there (${summary.alreadyThere} handoffs): nothing was added. Delete ${config.databaseUrl ? 'the demo schema' : config.dataDir} to seed it again.`);
    } else {
      console.log(`Created ${summary.created} handoffs${summary.alreadyThere ? ` (${summary.alreadyThere} were already there)` : ''}; ${summary.breaches} SLA breaches recorded; ${summary.pendingTimers} SLA timers pending for the open ones.`);
    }
    console.log(`\nDemo handoffs by transition and status (${summary.database}):\n${table(summary)}`);
  } catch (err) {
    if (err instanceof DatabaseInUseError || err instanceof DataDirInUseError) {
      console.error(err instanceof DataDirInUseError ? `${err.userMessage} (a demo Baton already runs there: use it, or stop it first.)` : err.message);
      process.exit(2);
    }
    console.error(err instanceof BatonError ? err.userMessage : err);
    process.exit(1);
  }
  if (values['seed-only']) {
    console.log(`\nNext: npm run demo (without --seed-only) runs Baton on this demo database; npm start runs your own.`);
    return;
  }
  const off = [!platforms.withSlack && base.slack ? 'Slack (--with-slack to use it)' : '', !platforms.withTeams && base.teams ? 'Teams (--with-teams to use it)' : ''].filter(Boolean);
  console.log(
    `\nStarting Baton on the demo database with the console${platforms.withSlack ? ' and Slack' : ''}${platforms.withTeams ? ' and Teams' : ''}` +
      `${off.length ? `; credentials are set but off for the demo: ${off.join(', ')}` : ''}. Ctrl-C stops it.`,
  );
  // console:link finds the demo's development token in the demo's directory.
  const anotherLinkCommand = base.apiToken ? 'npm run console:link' : `BATON_DATA_DIR=${config.dataDir} npm run console:link`;
  // The demo's events never reach the playbook's webhook subscribers (as its platforms stay off).
  await runBaton(config, { plugins: demoPlugins(platforms), anotherLinkCommand, webhooks: false });
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

// Run when executed (npm run demo), not when imported (tests import seedDemo).
if (process.argv[1] && /scripts[\\/]demo\.[cm]?[jt]s$/.test(process.argv[1])) void main();
