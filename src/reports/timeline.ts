/**
 * An account's chain of custody: every handoff across every transition, who owned it when, each
 * action and each SLA breach, in time order.
 */
import type { HandoffService } from '../handoffs.js';
import type { Database } from '../store/database.js';
import { HandoffRepository } from '../store/handoffRepository.js';
import type { AccountRef, PersonRef } from '../domain/view.js';
import { InvalidError, NotFoundError } from '../errors.js';

export interface TimelineEntry {
  at: string;
  handoffId: number;
  transition: string;
  transitionName: string;
  /** An audit event type (received, routed, accepted, …) or "sla_breach". */
  type: string;
  actor: PersonRef | null;
  owner: PersonRef | null;
  reasonCode: string | null;
  note: string | null;
  detail: string | null;
}

export interface AccountTimeline {
  account: AccountRef;
  owners: { stage: string; stageName: string; owner: PersonRef; since: string }[];
  handoffs: { id: number; transition: string; transitionName: string; status: string; owner: PersonRef; createdAt: string; closedAt: string | null }[];
  entries: TimelineEntry[];
}

export async function accountTimeline(service: HandoffService, db: Database, key: string): Promise<AccountTimeline> {
  const matches = await service.findAccounts(key);
  if (!matches.length) throw new NotFoundError(`No account matches "${key}" (try its CRM id, domain or exact name).`);
  if (matches.length > 1) {
    throw new InvalidError(
      `"${key}" matches ${matches.length} accounts; use a CRM id or domain.`,
      matches.map((m) => ({ path: 'account', message: `#${m.id} ${m.name}${m.domain ? ` (${m.domain})` : ''}` })),
      'ambiguous_account',
    );
  }
  const account = matches[0]!;
  const owners = await service.accountOwners(String(account.id));
  const repo = new HandoffRepository(db.prisma);
  const handoffs = await repo.ofAccount(account.id);
  const ids = handoffs.map((h) => h.id);
  const [events, breaches] = await Promise.all([
    repo.eventsOf(ids),
    db.prisma.slaBreach.findMany({ where: { handoffId: { in: ids } }, orderBy: { firedAt: 'asc' } }),
  ]);
  const byId = new Map(handoffs.map((h) => [h.id, service.toView(h)]));
  const ref = (id: string | null) => (id ? service.personRefById(id) : null);
  const entries: TimelineEntry[] = [
    ...events.map((e) => {
      const h = byId.get(e.handoffId)!;
      const data = (e.data ?? {}) as { reason?: string };
      return {
        at: e.at.toISOString(),
        handoffId: e.handoffId,
        transition: h.transition,
        transitionName: h.transitionName,
        type: e.type,
        actor: ref(e.actorId),
        owner: ref(e.ownerId),
        reasonCode: e.reasonCode,
        note: e.note,
        detail: typeof data.reason === 'string' ? data.reason : null,
      };
    }),
    ...breaches.map((b) => {
      const h = byId.get(b.handoffId)!;
      return {
        at: b.firedAt.toISOString(),
        handoffId: b.handoffId,
        transition: h.transition,
        transitionName: h.transitionName,
        type: 'sla_breach',
        actor: null,
        owner: ref(b.ownerId),
        reasonCode: null,
        note: null,
        detail: `${b.kind === 'accept' ? 'accept' : 'first-touch'} SLA due ${b.dueAt.toISOString()} breached${b.escalatedToId ? `; escalated to ${service.personRefById(b.escalatedToId).name}` : ''}`,
      };
    }),
  ].sort((a, b) => a.at.localeCompare(b.at) || a.handoffId - b.handoffId);
  return {
    account,
    owners: owners.owners,
    handoffs: [...byId.values()].map((h) => ({ id: h.id, transition: h.transition, transitionName: h.transitionName, status: h.status, owner: h.owner, createdAt: h.createdAt, closedAt: h.closedAt })),
    entries,
  };
}
