/**
 * Prometheus metrics for GET /metrics, in the text exposition format (0.0.4), written by hand:
 * a handful of counters and histograms do not need a client library, and every Baton started in
 * one process (tests start many) gets its own registry instead of a global one.
 *
 * Counters and histograms are per process: with several instances, Prometheus scrapes each and
 * `sum()` adds them up. Gauges of shared state (the outbox backlog) are read from the database at
 * scrape time, so every instance reports the same numbers for them.
 *
 * The core does not know about metrics. Every intake and action (HTTP API, Slack, Teams, console,
 * CRM webhooks, SLA engine) goes through HandoffService, which tells its observers what became of
 * it: `handoffMetrics` is one. Jobs are timed by wrapping the jobs port's handlers. No adapter has
 * to remember to count.
 */
import type { RequestHandler } from 'express';
import type { Clock } from './clock.js';
import type { CommandOutcome, HandoffObserver } from './handoffs/outcomes.js';
import type { OutboxDispatcher } from './outbox.js';
import type { JobData, JobHandler, JobScheduler } from './jobs/scheduler.js';
import { BatonError, ConflictError, ForbiddenError, InvalidError, MalformedError, NotFoundError } from './errors.js';
import { SYSTEM_ACTIONS, USER_ACTIONS } from './domain/lifecycle.js';

type Labels = Record<string, string>;

/** Prometheus' default buckets, in seconds: request durations. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Job lateness spans milliseconds (a healthy poller) to hours (a stopped instance catching up). */
export const LATENESS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

function labelKey(names: readonly string[], labels: Labels): string {
  return names.map((n) => labels[n] ?? '').join('\u0000');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

export class Counter {
  private readonly values = new Map<string, { labels: string[]; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = labelKey(this.labelNames, labels);
    const entry = this.values.get(key) ?? { labels: this.labelNames.map((n) => labels[n] ?? ''), value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  /** Current value for these labels (0 when never incremented). */
  get(labels: Labels): number {
    return this.values.get(labelKey(this.labelNames, labels))?.value ?? 0;
  }

  render(): string {
    let out = header(this.name, this.help, 'counter');
    for (const { labels, value } of this.values.values()) out += `${this.name}${formatLabels(this.labelNames, labels)} ${formatNumber(value)}\n`;
    return out;
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: string[]; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: this.labelNames.map((n) => labels[n] ?? ''), counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string {
    let out = header(this.name, this.help, 'histogram');
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out += `${this.name}_bucket${formatLabels(this.labelNames, s.labels, ['le', formatNumber(b)])} ${s.counts[i]}\n`;
      });
      out += `${this.name}_bucket${formatLabels(this.labelNames, s.labels, ['le', '+Inf'])} ${s.count}\n`;
      out += `${this.name}_sum${formatLabels(this.labelNames, s.labels)} ${formatNumber(s.sum)}\n`;
      out += `${this.name}_count${formatLabels(this.labelNames, s.labels)} ${s.count}\n`;
    }
    return out;
  }
}

/** A gauge family read at scrape time. */
export interface GaugeSample {
  name: string;
  help: string;
  value: number;
}

export class Metrics {
  readonly intakes = new Counter('baton_intakes_total', 'Handoff intakes by transition and outcome: created, replayed (an idempotent retry), refused (4xx: invalid, unknown transition…), error (5xx).', ['transition', 'outcome']);
  readonly actions = new Counter('baton_actions_total', 'Handoff actions (user and system) by action and outcome: applied, forbidden, conflict, invalid, not_found, aborted (the caller\'s own guard, e.g. an SLA timer that had already fired), error.', ['action', 'outcome']);
  readonly breaches = new Counter('baton_sla_breaches_total', 'SLA breaches recorded by this instance\'s SLA engine (first escalation of a deadline), by transition and SLA kind.', ['transition', 'kind']);
  readonly jobLateness = new Histogram('baton_job_lateness_seconds', 'Time from a job\'s due time to the start of its first run on this instance, by job name.', ['job'], LATENESS_BUCKETS);
  readonly httpDuration = new Histogram('baton_http_request_duration_seconds', 'HTTP request duration by method, route pattern and status.', ['method', 'route', 'status'], HTTP_BUCKETS);
  private readonly collectors: { name: string; collect: () => Promise<GaugeSample[]> }[] = [];

  /**
   * Adds gauges computed when /metrics is scraped. A collector that fails (the database is down)
   * leaves its gauges out and reports `baton_collector_up{collector="<name>"} 0` instead of
   * failing the whole scrape.
   */
  addGauges(name: string, collect: () => Promise<GaugeSample[]>): void {
    this.collectors.push({ name, collect });
  }

  async exposition(): Promise<string> {
    let out = header('baton_process_start_time_seconds', 'When this Baton process started (Unix time).', 'gauge');
    out += `baton_process_start_time_seconds ${Math.floor(performance.timeOrigin / 1000)}\n`;
    for (const m of [this.intakes, this.actions, this.breaches, this.jobLateness, this.httpDuration]) out += m.render();
    const results = await Promise.all(
      this.collectors.map(async (c) => {
        try {
          return { name: c.name, up: true, samples: await c.collect() };
        } catch {
          return { name: c.name, up: false, samples: [] as GaugeSample[] };
        }
      }),
    );
    for (const r of results) for (const s of r.samples) out += header(s.name, s.help, 'gauge') + `${s.name} ${formatNumber(s.value)}\n`;
    if (results.length) {
      out += header('baton_collector_up', 'Whether a scrape-time collector could read its data (1) or not (0).', 'gauge');
      for (const r of results) out += `baton_collector_up{collector="${escapeLabel(r.name)}"} ${r.up ? 1 : 0}\n`;
    }
    return out;
  }

  /** Times every request; the route label is the matched pattern (never the raw path, which would explode cardinality). */
  httpMiddleware(): RequestHandler {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.httpDuration.observe({ method: req.method, route: routeLabel(req.originalUrl, req.baseUrl, req.route as { path?: unknown } | undefined, res.statusCode), status: String(res.statusCode) }, seconds);
      });
      next();
    };
  }

  /** The exposition; authentication is the caller's (src/api/server.ts puts the API's bearer token in front). */
  handler(): RequestHandler {
    return async (_req, res) => {
      res.type('text/plain; version=0.0.4; charset=utf-8').send(await this.exposition());
    };
  }
}

/**
 * The route pattern of a request, e.g. "/api/handoffs/:id". Express gives the pattern relative to
 * its router (`req.route.path`) and forgets the router's mount path when an error leaves it, so
 * the prefix is recovered from the URL: the path's first segments, minus the pattern's. Requests
 * no route matched are "unmatched" when nothing answered them (404), else their first segment
 * with a wildcard (e.g. "/api/*" for a 401 before routing).
 */
export function routeLabel(originalUrl: string, baseUrl: string, route: { path?: unknown } | undefined, status: number): string {
  const path = originalUrl.split('?')[0] ?? '/';
  const pattern = typeof route?.path === 'string' ? route.path : undefined;
  if (pattern) {
    if (baseUrl) return baseUrl + pattern;
    const segments = path.split('/').filter(Boolean);
    const own = pattern.split('/').filter(Boolean).length;
    const prefix = pattern.includes('*') || own > segments.length ? '' : segments.slice(0, segments.length - own).map((s) => `/${s}`).join('');
    return prefix + pattern;
  }
  if (status === 404) return 'unmatched';
  const first = path.split('/').filter(Boolean)[0];
  return first ? `/${first}/*` : '/';
}

// ---------------------------------------------------------------------------------------------
// Instrumentation of the core's entry points

const KNOWN_ACTIONS = new Set<string>([...USER_ACTIONS, ...SYSTEM_ACTIONS]);

function outcomeOf(err: unknown): string {
  if (err instanceof ForbiddenError) return 'forbidden';
  if (err instanceof ConflictError) return 'conflict';
  if (err instanceof InvalidError || err instanceof MalformedError) return 'invalid';
  if (err instanceof NotFoundError) return 'not_found';
  return 'error';
}

/**
 * Counts intakes, actions and SLA breaches from what the service tells its observers: the events a
 * command committed or the error that refused it. Only playbook transitions and known actions
 * become label values: a client cannot mint series.
 */
export function handoffMetrics(metrics: Metrics): HandoffObserver {
  return {
    observe(o: CommandOutcome): void {
      if (o.command === 'intake') {
        const transition = o.transition ?? 'unknown';
        if (o.outcome === 'failed') metrics.intakes.inc({ transition, outcome: o.error instanceof BatonError && o.error.httpStatus < 500 ? 'refused' : 'error' });
        else metrics.intakes.inc({ transition, outcome: o.outcome });
        return;
      }
      const action = o.action && KNOWN_ACTIONS.has(o.action) ? o.action : 'unknown';
      if (o.outcome === 'failed') {
        metrics.actions.inc({ action, outcome: o.aborted ? 'aborted' : outcomeOf(o.error) });
        return;
      }
      // A post that found the handoff already posted lost the race to the other platform.
      metrics.actions.inc({ action, outcome: o.outcome === 'unchanged' ? 'conflict' : 'applied' });
      for (const e of o.events) {
        // The first escalation of a deadline is its breach (accept or first touch).
        if (e.type === 'handoff.escalated' && e.payload.data?.level === 1 && typeof e.payload.data.kind === 'string') {
          metrics.breaches.inc({ transition: o.transition ?? 'unknown', kind: e.payload.data.kind });
        }
      }
    },
  };
}

/**
 * Measures job lateness through the jobs port: every handler registered after this records, on a
 * job's first attempt, how long after its due time it started. Retries are left out: their delay
 * is backoff, not lateness.
 */
export function instrumentJobs(jobs: JobScheduler, metrics: Metrics, clock: Clock): void {
  const define = jobs.define.bind(jobs);
  jobs.define = <D extends JobData>(name: string, handler: JobHandler<D>) => {
    define<D>(name, async (job) => {
      if (job.attempt === 1) metrics.jobLateness.observe({ job: name }, Math.max(0, clock.now().getTime() - job.runAt.getTime()) / 1000);
      await handler(job);
    });
  };
}

export function outboxGauges(outbox: Pick<OutboxDispatcher, 'stats'>, clock: Clock): () => Promise<GaugeSample[]> {
  return async () => {
    const s = await outbox.stats();
    const age = s.oldestPendingAt ? Math.max(0, (clock.now().getTime() - s.oldestPendingAt.getTime()) / 1000) : 0;
    return [
      { name: 'baton_outbox_pending_deliveries', help: 'Outbox deliveries not yet delivered (all consumers, all instances).', value: s.pending },
      { name: 'baton_outbox_failed_deliveries', help: 'Outbox deliveries given up after their retries (need attention).', value: s.failed },
      { name: 'baton_outbox_oldest_pending_age_seconds', help: 'Age of the oldest pending outbox event; 0 when nothing is pending.', value: age },
    ];
  };
}

/**
 * One call in startBaton, right after the job scheduler exists (before anything defines a job):
 * times the jobs port's handlers and registers the outbox gauges. The counters of intakes and
 * actions come from `handoffMetrics`, an observer given to the service when it is made.
 */
export function instrumentRuntime(metrics: Metrics, deps: { jobs: JobScheduler; outbox: Pick<OutboxDispatcher, 'stats'>; clock: Clock }): Metrics {
  instrumentJobs(deps.jobs, metrics, deps.clock);
  metrics.addGauges('outbox', outboxGauges(deps.outbox, deps.clock));
  return metrics;
}
