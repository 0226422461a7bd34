/**
 * Reads of handoffs for every surface: one handoff with its history, filtered pages, accounts and
 * who owns them at each stage. Filters are checked here (a person or status the playbook does not
 * know is an InvalidError); the SQL is in the repository.
 */
import type { Directory } from '../directory.js';
import { AWAITING_ACCEPT, OPEN_STATUSES } from '../domain/lifecycle.js';
import type { AccountRef, HandoffEventView, HandoffView, PersonRef } from '../domain/view.js';
import { InvalidError, NotFoundError } from '../errors.js';
import type { Playbook } from '../playbook/schema.js';
import type { HandoffRepository, HandoffRow, ListWhere } from '../store/handoffRepository.js';
import { assertStorableFilter } from './requests.js';
import { handoffEventView, personRef } from './views.js';

export interface ListFilter {
  status?: string | undefined;
  owner?: string | undefined;
  account?: string | undefined;
  transition?: string | undefined;
  team?: string | undefined;
  limit?: number | undefined;
  /** Return handoffs with an id below this (pages go newest first). */
  before?: number | undefined;
}

export interface AccountOwners {
  account: AccountRef;
  owners: { stage: string; stageName: string; owner: PersonRef; since: string; handoffId: number | null }[];
  openHandoffs: HandoffView[];
}

export class HandoffQueries {
  constructor(
    private readonly deps: {
      repo: HandoffRepository;
      playbook: Playbook;
      directory: Directory;
      /** Database outages as a typed 503 (HandoffService.guard). */
      guard: <T>(fn: () => Promise<T>) => Promise<T>;
      view: (h: HandoffRow) => HandoffView;
    },
  ) {}

  async get(id: number, opts: { events?: boolean } = { events: true }): Promise<HandoffView> {
    const { guard, repo } = this.deps;
    // The events are read alongside (not after) the row: one round trip of latency instead of two.
    const [h, events] = await Promise.all([guard(() => repo.loadRow(undefined, id)), opts.events !== false ? guard(() => this.events(id)) : undefined]);
    if (!h) throw new NotFoundError(`There is no handoff #${id}.`);
    const view = this.deps.view(h);
    if (events) view.events = events;
    return view;
  }

  async events(handoffId: number): Promise<HandoffEventView[]> {
    const rows = await this.deps.repo.events(handoffId);
    return rows.map((e) => handoffEventView(this.deps.directory, e));
  }

  async list(filter: ListFilter): Promise<{ handoffs: HandoffView[]; nextBefore: number | null }> {
    assertStorableFilter({ ...filter });
    const where: ListWhere = {};
    if (filter.status) {
      const wanted = filter.status.split(',').map((s) => s.trim()).filter(Boolean);
      where.statuses = wanted.flatMap((s) => (s === 'open' ? [...OPEN_STATUSES] : s === 'awaiting' ? [...AWAITING_ACCEPT] : [s]));
    }
    if (filter.owner) {
      const p = this.deps.directory.find(filter.owner);
      if (!p) throw new InvalidError(`There is no person "${filter.owner}".`, [{ path: 'owner', message: `no person "${filter.owner}" in the playbook` }]);
      where.ownerId = p.id;
    }
    if (filter.account) where.accountIds = (await this.findAccounts(filter.account)).map((a) => a.id);
    if (filter.transition) where.transitionId = filter.transition;
    if (filter.team) where.teamId = filter.team;
    if (filter.before) where.beforeId = filter.before;
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const rows = await this.deps.guard(() => this.deps.repo.list(where, limit + 1));
    const page = rows.slice(0, limit);
    return { handoffs: page.map((r) => this.deps.view(r)), nextBefore: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  /** Accounts matching a key: id, CRM id, domain, or (case-insensitive) name. */
  async findAccounts(key: string): Promise<AccountRef[]> {
    assertStorableFilter({ account: key });
    const exact = await this.deps.guard(() => this.deps.repo.findAccounts(key));
    return exact.map((a) => ({ id: a.id, name: a.name, domain: a.domain, crmId: a.crmId }));
  }

  async accountOwners(key: string): Promise<AccountOwners> {
    const matches = await this.findAccounts(key);
    if (matches.length === 0) throw new NotFoundError(`No account matches "${key}" (try its CRM id, domain or exact name).`);
    if (matches.length > 1) {
      throw new InvalidError(
        `"${key}" matches ${matches.length} accounts; use a CRM id or domain.`,
        matches.map((m) => ({ path: 'account', message: `#${m.id} ${m.name}${m.domain ? ` (${m.domain})` : ''}${m.crmId ? ` crm ${m.crmId}` : ''}` })),
        'ambiguous_account',
      );
    }
    const account = matches[0]!;
    const { playbook, repo } = this.deps;
    const owners = await repo.accountOwners(account.id);
    const stageOrder = playbook.stages.map((s) => s.id);
    owners.sort((a, b) => stageOrder.indexOf(a.stage) - stageOrder.indexOf(b.stage));
    const open = await repo.ofAccount(account.id, OPEN_STATUSES);
    return {
      account,
      owners: owners.map((o) => ({
        stage: o.stage,
        stageName: playbook.stages.find((s) => s.id === o.stage)?.name ?? o.stage,
        owner: personRef(this.deps.directory, o.personId),
        since: o.since.toISOString(),
        handoffId: o.handoffId,
      })),
      openHandoffs: open.map((h) => this.deps.view(h)),
    };
  }
}
