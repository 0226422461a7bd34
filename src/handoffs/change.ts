/**
 * One state change, inside its transaction: read the row, decide whether the action applies (who
 * may, from which status, at which version), run the caller's guard, pick a reassignment's owner,
 * compute the change (domain/transition.ts, pure) and write it: the row guarded by its version,
 * the audit event, the domain events. Of two concurrent changes exactly one commits.
 */
import { randomUUID } from 'node:crypto';
import type { Directory } from '../directory.js';
import { USER_ACTIONS, validateActionArgs, type Decision, type HandoffAction, type LastChange, type Role, type UserAction } from '../domain/lifecycle.js';
import type { Policy } from '../domain/policy.js';
import { decideCommand, transition } from '../domain/transition.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { writeEvent, type DomainEvent } from '../events.js';
import type { OutboxConsumer, Tx } from '../outbox.js';
import type { Transition } from '../playbook/schema.js';
import type { HandoffRepository, HandoffRow } from '../store/handoffRepository.js';
import { pickReassignTarget } from './reassign.js';

export interface ChangeDeps {
  repo: HandoffRepository;
  directory: Directory;
  policy: Policy;
  transitions: ReadonlyMap<string, Transition>;
  consumers: readonly OutboxConsumer[];
}

export interface ApplyArgs {
  reasonCode?: string | undefined;
  note?: string | undefined;
  to?: string | undefined;
  expectedVersion?: number | undefined;
  /** Extra facts for the audit event and the outbox payload (e.g. the SLA step that fired). */
  data?: Record<string, unknown>;
  /**
   * Runs inside the same transaction, after the guards pass and before the change is written:
   * e.g. the SLA engine records its exactly-once firing row and the breach here. Throwing aborts
   * the whole change.
   */
  inTransaction?: (tx: Tx, handoff: HandoffRow) => Promise<void>;
}

export interface AppliedChange {
  /** The row as committed (no read after the commit is needed to answer). */
  row: HandoffRow;
  decision: Decision;
  events: DomainEvent[];
  /** Consumers that got delivery rows (to wake after the commit). */
  woken: string[];
}

export async function applyChange(
  tx: Tx,
  deps: ChangeDeps,
  a: { handoffId: number; action: HandoffAction; actorId: string | null; args: ApplyArgs; now: Date; onAbort: () => void },
): Promise<AppliedChange> {
  const { repo, policy } = deps;
  const { action, actorId, args, now } = a;
  const h = await repo.loadRow(tx, a.handoffId);
  if (!h) throw new NotFoundError(`There is no handoff #${a.handoffId}.`);
  const t = deps.transitions.get(h.transitionId);
  const roles = actorId === null ? (['system'] as Role[]) : policy.rolesOf(actorId, h);
  const check = { action, actorRoles: roles, whoCanAct: policy.whoCanAct(h, action), expectedVersion: args.expectedVersion };
  // The last change only shapes refusals (who won, and when): it is read when the click is
  // stale, or when a refusal without it is about to be thrown, to throw it with it instead.
  // decide() without it accepts exactly what it accepts with it, except a stale version.
  const stale = args.expectedVersion !== undefined && args.expectedVersion !== h.version;
  let decision: Decision;
  if (stale) decision = decideCommand(h, check, await lastChange(tx, deps, h.id, h.version));
  else {
    try {
      decision = decideCommand(h, check, null);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      decision = decideCommand(h, check, await lastChange(tx, deps, h.id, h.version));
    }
  }
  if (actorId !== null && (USER_ACTIONS as readonly string[]).includes(action)) {
    validateActionArgs(action as UserAction, args, t?.rejectReasons ?? []);
  }
  try {
    await args.inTransaction?.(tx, h);
  } catch (err) {
    a.onAbort();
    throw err;
  }
  const reassignTo = action === 'reassign' || action === 'auto_reassign' ? await pickReassignTarget(tx, deps, h, t, args.to, now) : undefined;
  const actorName = actorId === null ? undefined : deps.directory.byId.get(actorId)?.name;
  const change = transition(h, { action, actorId, actorName, decision, reasonCode: args.reasonCode, note: args.note, data: args.data, reassignTo, newTimerToken: randomUUID(), toStage: t?.toStage }, now);
  if (change.accountOwner) await repo.setAccountOwner(tx, change.accountOwner);
  // Another transaction committed first: re-read to tell the loser who won and when.
  if (change.next && !(await repo.updateGuarded(tx, h.id, change.guard, change.next))) throw await conflictAfterRace(tx, deps, h.id, action);
  await repo.appendEvents(tx, [change.audit]);
  const woken: string[] = [];
  for (const e of change.events) woken.push(...(await writeEvent(tx, deps.consumers, e, now)));
  // The answer must not depend on the database after the commit. The row is locked by our
  // update until then, so it is the row we read plus the values we wrote; only a change of
  // owner (another person row) is read back.
  let row: HandoffRow = change.next ? { ...h, ...change.next } : h;
  if (change.next?.ownerId !== undefined) {
    const fresh = await repo.loadRow(tx, h.id);
    if (!fresh) throw new NotFoundError(`There is no handoff #${h.id}.`);
    row = fresh;
  }
  return { row, decision, events: change.events, woken };
}

async function lastChange(tx: Tx, deps: ChangeDeps, handoffId: number, version: number): Promise<LastChange | null> {
  const e = await deps.repo.lastChange(tx, handoffId, version);
  if (!e) return null;
  const by = e.actorId ? deps.directory.byId.get(e.actorId) : undefined;
  return { action: e.type, by: by ? { id: by.id, name: by.name } : null, at: e.at };
}

/**
 * Read inside the losing transaction: each statement sees what committed before it (READ
 * COMMITTED), and asking the pool for a second connection while holding one could wait forever
 * once every pooled connection is held by a transaction doing the same.
 */
async function conflictAfterRace(tx: Tx, deps: ChangeDeps, id: number, action: HandoffAction): Promise<ConflictError> {
  const h = await deps.repo.state(tx, id);
  const last = h ? await lastChange(tx, deps, id, h.version) : null;
  const by = last?.by ? ` by ${last.by.name}` : '';
  const at = last ? ` at ${last.at.toISOString().replace('T', ' ').slice(0, 16)} UTC` : '';
  return new ConflictError(
    `Someone else changed this handoff first: it was ${h?.status ?? 'changed'}${by}${at}. Your ${action} was not applied.`,
    last?.by ?? undefined,
    last?.at,
    h ? `already_${h.status}` : 'conflict',
  );
}
