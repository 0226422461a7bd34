/**
 * Who an escalation step reaches. The chain in the handoff's policy snapshot names roles
 * (owner_lead, team_lead, function_head) or people; this resolves one step against the playbook's
 * directory, for the owner and receiving team of this handoff.
 */
import type { EscalationTarget, Person, Team } from '../playbook/schema.js';

export interface DirectoryView {
  byId: ReadonlyMap<string, Person>;
  teams: ReadonlyMap<string, Team>;
}

export interface EscalationContext {
  ownerId: string;
  /** The receiving team of the handoff (its lead and head are the fallbacks). */
  teamId: string;
}

export type EscalationRole = 'owner_lead' | 'team_lead' | 'function_head' | 'person';

export function escalationRole(target: EscalationTarget): EscalationRole {
  return typeof target === 'string' ? target : 'person';
}

/**
 * Candidates in order, first usable wins (exists, active, and not the owner — escalating to
 * yourself tells nobody):
 *   owner_lead    → the owner's manager, else the team's lead, else its head
 *   team_lead     → the team's lead, else its head
 *   function_head → the team's head
 *   a person      → that person, else the team's head
 * null when nobody fits (e.g. the owner is the head of function): the breach is still recorded.
 */
export function resolveEscalationTarget(target: EscalationTarget, ctx: EscalationContext, dir: DirectoryView): Person | null {
  const owner = dir.byId.get(ctx.ownerId);
  const team = dir.teams.get(ctx.teamId);
  let candidates: (string | null | undefined)[];
  if (target === 'owner_lead') candidates = [owner?.managerId, team?.leadId, team?.headId];
  else if (target === 'team_lead') candidates = [team?.leadId, team?.headId];
  else if (target === 'function_head') candidates = [team?.headId];
  else candidates = [target.personId, team?.headId];
  for (const id of candidates) {
    if (!id || id === ctx.ownerId) continue;
    const p = dir.byId.get(id);
    if (p?.active) return p;
  }
  return null;
}

/** The step of the chain for escalation level `level` (1-based); the last step repeats past the end. */
export function chainStep(chain: readonly EscalationTarget[], level: number): EscalationTarget | null {
  if (!chain.length) return null;
  return chain[Math.min(level, chain.length) - 1] ?? null;
}
