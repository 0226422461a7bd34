/**
 * Handoff commands and queries: the one place where handoffs are created and change state.
 * Every change is one transaction: the row (guarded by its version), its audit event and its
 * domain events (outbox). Adapters (HTTP API, Slack, Teams) call these methods and nothing else.
 *
 * The parts: request schemas (handoffs/requests.ts), intake (handoffs/intake.ts), who may act
 * (domain/policy.ts, domain/lifecycle.ts), what a change does (domain/transition.ts, pure), who
 * takes a reassignment (handoffs/reassign.ts), SQL (store/handoffRepository.ts), events
 * (events.ts), views (handoffs/views.ts), observers such as metrics (handoffs/outcomes.ts).
 */
import { Prisma } from './generated/prisma/client.js';
import type { Clock } from './clock.js';
import type { Database } from './store/database.js';
import type { Logger } from './logger.js';
import { Directory } from './directory.js';
import { Policy, viewerOf } from './domain/policy.js';
import { InvalidError, NotInDirectoryError, UnavailableError, isDatabaseUnavailable } from './errors.js';
import { LIFECYCLE, type HandoffAction } from './domain/lifecycle.js';
import type { AccountRef, HandoffEventView, HandoffView, PersonRef } from './domain/view.js';
import { EVENT_OF_ACTION, subscribersOf } from './events.js';
import type { OutboxConsumer, Tx } from './outbox.js';
import type { Playbook, Transition } from './playbook/schema.js';
import { HandoffRepository, type HandoffRow } from './store/handoffRepository.js';
import { actionSchema, parseWith, intakeSchema, type ActionRequest } from './handoffs/requests.js';
import { checkIntake, createRouted, hashRequest } from './handoffs/intake.js';
import { applyChange, type AppliedChange, type ApplyArgs, type ChangeDeps } from './handoffs/change.js';
import { HandoffQueries, type ListFilter } from './handoffs/queries.js';
import { handoffView, personRef, platformIdsFrom, type PlatformIdsOf } from './handoffs/views.js';
import type { CommandOutcome, HandoffObserver } from './handoffs/outcomes.js';

export type { PolicySnapshot } from './domain/transition.js';
export type { HandoffRow } from './store/handoffRepository.js';
export type { ListFilter } from './handoffs/queries.js';
export type { ApplyArgs } from './handoffs/change.js';

export interface HandoffServiceDeps {
  db: Database;
  playbook: Playbook;
  clock: Clock;
  log: Logger;
  /** Consumers that get a delivery row for each event (platform gateways, SLA scheduler). */
  consumers: () => readonly OutboxConsumer[];
  /** Called after a commit that wrote outbox rows. */
  afterCommit?: (consumers?: string[]) => void;
  /** Told what became of every command, after the fact (metrics). */
  observers?: readonly HandoffObserver[];
}

export interface IntakeResult {
  handoff: HandoffView;
  /** false when an idempotent retry returned the handoff created earlier. */
  created: boolean;
}

export class HandoffService {
  readonly directory: Directory;
  private readonly platformIds: PlatformIdsOf;
  /** Who may see and act (src/domain/policy.ts); every surface asks this one. */
  readonly policy: Policy;
  private readonly transitions: Map<string, Transition>;
  private readonly repo: HandoffRepository;
  private readonly queries: HandoffQueries;

  constructor(private readonly deps: HandoffServiceDeps) {
    this.directory = new Directory(deps.playbook);
    this.platformIds = platformIdsFrom(this.directory);
    this.policy = new Policy(this.directory);
    this.transitions = new Map(deps.playbook.transitions.map((t) => [t.id, t]));
    this.repo = new HandoffRepository(deps.db.prisma, deps.db.sql);
    this.queries = new HandoffQueries({ repo: this.repo, playbook: deps.playbook, directory: this.directory, guard: (fn) => this.guard(fn), view: (h) => this.toView(h) });
  }

  get playbook(): Playbook {
    return this.deps.playbook;
  }

  transition(id: string): Transition | undefined {
    return this.transitions.get(id);
  }

  // -------------------------------------------------------------------------------------------
  // Intake: received → validated → routed, in one transaction

  async intake(body: unknown, opts: { idempotencyKey?: string | undefined } = {}): Promise<IntakeResult> {
    const asked = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).transition : undefined;
    // Only transition ids of the playbook reach observers (metrics labels): a client cannot mint them.
    const transitionId = typeof asked === 'string' && this.transitions.has(asked) ? asked : undefined;
    try {
      const checked = checkIntake(parseWith(intakeSchema, body, 'handoff request'), this.transitions, this.directory);
      const { req, t } = checked;
      const key = opts.idempotencyKey ?? (req.externalId ? `external:${t.id}:${req.externalId}` : undefined);
      const requestHash = key ? hashRequest(req) : null;
      const replay = async () => {
        const existing = key ? await this.findByIdempotencyKey(key, requestHash!) : undefined;
        if (existing) this.tell({ command: 'intake', transition: t.id, outcome: 'replayed', events: [] });
        return existing && { handoff: existing, created: false };
      };
      const replayed = await replay();
      if (replayed) return replayed;
      const now = this.deps.clock.now();
      let routed: Awaited<ReturnType<typeof createRouted>>;
      try {
        routed = await this.guard(() =>
          this.repo.intakeTransaction((q) => createRouted(q, { repo: this.repo, playbook: this.playbook, directory: this.directory, consumers: this.deps.consumers() }, { ...checked, idempotencyKey: key ?? null, requestHash }, now)),
        );
      } catch (err) {
        // Two identical requests raced; the other one committed first. Return its handoff.
        const raced = key && isUniqueViolation(err) ? await replay() : undefined;
        if (raced) return raced;
        throw err;
      }
      this.deps.afterCommit?.(routed.woken);
      this.tell({ command: 'intake', transition: t.id, outcome: 'created', events: routed.events });
      // The answer comes from the committed row, with no further read: once committed, the client
      // is told so even if the database goes away this very moment (a 503 would say "not written").
      const view = this.toView(routed.row);
      this.deps.log.info({ handoffId: view.id, transition: t.id, ownerId: view.owner.id, routing: view.routingReason }, 'handoff routed');
      return { handoff: view, created: true };
    } catch (err) {
      this.tell({ command: 'intake', transition: transitionId, outcome: 'failed', error: err });
      throw err;
    }
  }

  private async findByIdempotencyKey(key: string, requestHash: string): Promise<HandoffView | undefined> {
    const existing = await this.guard(() => this.repo.findByIdempotencyKey(key));
    if (!existing) return undefined;
    if (existing.requestHash !== requestHash) {
      throw new InvalidError(
        `This idempotency key was already used for a different request (handoff #${existing.id}). Use a new key for a new handoff.`,
        [{ path: 'Idempotency-Key', message: `already used by handoff #${existing.id} with a different body` }],
        'idempotency_key_reused',
      );
    }
    return this.toView(existing);
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  /** Applies a user's action. `actor` is a person id, email or platform user id. `inTransaction`: see ApplyArgs. */
  async act(handoffId: number, body: unknown, opts: Pick<ApplyArgs, 'inTransaction'> = {}): Promise<HandoffView> {
    let req: ActionRequest;
    let actorId: string;
    try {
      req = parseWith(actionSchema, body, 'action request');
      const actor = this.directory.find(req.actor);
      if (!actor) {
        throw new InvalidError(`"${req.actor}" is not a person in the playbook, so they can't act on handoffs.`, [
          { path: 'actor', message: `no person "${req.actor}" in the playbook` },
        ], 'unknown_actor');
      }
      const viewer = viewerOf(actor);
      if (viewer.kind !== 'person') throw new NotInDirectoryError(`${actor.name} is inactive in the playbook, so they can't act on handoffs. A playbook admin can reactivate them: ${this.policy.whoCanHelp()}.`, 'inactive_actor');
      actorId = actor.id;
    } catch (err) {
      // Refused before apply (which tells of its own outcomes): told here, once.
      const asked = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).action : undefined;
      this.tell({ command: 'action', action: typeof asked === 'string' ? asked : undefined, outcome: 'failed', error: err, aborted: false });
      throw err;
    }
    return this.apply(handoffId, req.action, actorId, { ...req, ...opts });
  }

  /**
   * The one function that changes a handoff's state. `actorId` null means the system (SLA timers,
   * delivery). Guarded by the row's version: of two concurrent actions exactly one commits.
   */
  async apply(handoffId: number, action: HandoffAction, actorId: string | null, args: ApplyArgs = {}): Promise<HandoffView> {
    const now = this.deps.clock.now();
    let aborted = false;
    let result: AppliedChange;
    try {
      result = await this.withTx((tx) =>
        applyChange(tx, this.changeDeps(), { handoffId, action, actorId, args, now, onAbort: () => (aborted = true) }),
      );
    } catch (err) {
      this.tell({ command: 'action', action, outcome: 'failed', error: err, aborted });
      throw err;
    }
    this.deps.afterCommit?.(result.woken);
    this.tell({ command: 'action', action, transition: result.row.transitionId, outcome: 'applied', events: result.events });
    const { decision } = result;
    this.deps.log.info({ handoffId, action, actorId, from: decision.fromStatus, to: decision.toStatus, version: decision.nextVersion }, 'handoff state changed');
    return this.toView(result.row);
  }

  /**
   * A platform delivered the card. The first platform moves routed → posted (true); later
   * deliveries (the other platform, a retry) find it already posted and change nothing (false).
   *
   * This is what `apply(id, 'post')` would do (same rule, audit row and outbox event), in one
   * statement instead of a six-statement transaction: it runs once per handoff, on the delivery
   * path, and posting has nothing to decide beyond "is it still routed" (system only, no version
   * bump, no other column).
   */
  async markPosted(handoffId: number, platform: string): Promise<boolean> {
    const rule = LIFECYCLE.post;
    // Posting starts from one status (routed), so the audit row's "from" is known without reading.
    const [from] = rule.from;
    const now = this.deps.clock.now();
    const type = EVENT_OF_ACTION.post;
    const wanted = subscribersOf(this.deps.consumers(), type);
    let posted: { version: number } | null;
    try {
      posted = await this.guard(() => this.repo.markPosted({ handoffId, from: from!, to: rule.to!, auditType: type.slice('handoff.'.length), platform, consumers: wanted, now }));
    } catch (err) {
      this.tell({ command: 'action', action: 'post', outcome: 'failed', error: err, aborted: false });
      throw err;
    }
    if (!posted) {
      this.tell({ command: 'action', action: 'post', outcome: 'unchanged', events: [] });
      return false; // already posted by the other platform, or moved on (accepted, withdrawn…)
    }
    if (wanted.length) this.deps.afterCommit?.(wanted);
    this.tell({ command: 'action', action: 'post', outcome: 'applied', events: [] });
    this.deps.log.info({ handoffId, action: 'post', actorId: null, from, to: rule.to, version: posted.version }, 'handoff state changed');
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Queries (src/handoffs/queries.ts)

  get(id: number, opts: { events?: boolean } = { events: true }): Promise<HandoffView> {
    return this.queries.get(id, opts);
  }

  events(handoffId: number): Promise<HandoffEventView[]> {
    return this.queries.events(handoffId);
  }

  list(filter: ListFilter): Promise<{ handoffs: HandoffView[]; nextBefore: number | null }> {
    return this.queries.list(filter);
  }

  /** Accounts matching a key: id, CRM id, domain, or (case-insensitive) name. */
  findAccounts(key: string): Promise<AccountRef[]> {
    return this.queries.findAccounts(key);
  }

  accountOwners(key: string): Promise<{ account: AccountRef; owners: { stage: string; stageName: string; owner: PersonRef; since: string; handoffId: number | null }[]; openHandoffs: HandoffView[] }> {
    return this.queries.accountOwners(key);
  }

  personRefById(id: string): PersonRef {
    return personRef(this.directory, id);
  }

  toView(h: HandoffRow): HandoffView {
    return handoffView(h, this.transitions.get(h.transitionId), this.platformIds);
  }

  // -------------------------------------------------------------------------------------------

  private changeDeps(): ChangeDeps {
    return { repo: this.repo, directory: this.directory, policy: this.policy, transitions: this.transitions, consumers: this.deps.consumers() };
  }

  private tell(outcome: CommandOutcome): void {
    for (const o of this.deps.observers ?? []) {
      try {
        o.observe(outcome);
      } catch (err) {
        this.deps.log.warn({ err }, 'a handoff observer failed; the command stands');
      }
    }
  }

  private withTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.guard(() => this.repo.transaction(fn));
  }

  /** Database outages become a typed 503 (nothing was written), not a hang or a 500. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw new UnavailableError('The database is unavailable right now; nothing was written. Please retry in a moment.');
      throw err;
    }
  }
}

/** A unique index refused the row: 23505 from the driver, P2002 from a Prisma model query, P2010 from a raw one. */
function isUniqueViolation(err: unknown): boolean {
  // From the driver (the intake's transaction runs below Prisma): PostgreSQL's SQLSTATE.
  if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505') return true;
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (err.code === 'P2002') return true;
  const cause = (err.meta?.driverAdapterError as { cause?: { kind?: unknown } } | undefined)?.cause;
  return err.code === 'P2010' && cause?.kind === 'UniqueConstraintViolation';
}
