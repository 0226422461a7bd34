/**
 * The people and teams of the playbook, mirrored into the database at start-up so that history
 * can reference them and queries can join on them. People removed from the playbook stay as
 * inactive rows: old handoffs still point at them.
 */
import type { Database } from './store/database.js';
import type { Person, Playbook, Team } from './playbook/schema.js';
import { PinnedHandles, syncPlaybookHandles } from './personHandles.js';

export async function syncDirectory(db: Database, pb: Playbook): Promise<void> {
  await db.prisma.$transaction(async (tx) => {
    for (const t of pb.teams) {
      const data = {
        name: t.name,
        stage: t.stage,
        timeZone: t.calendar.timeZone,
        leadId: t.leadId,
        headId: t.headId,
        slackChannel: t.channels.slack ?? null,
        teamsChannel: t.channels.teams ?? null,
      };
      await tx.team.upsert({ where: { id: t.id }, create: { id: t.id, ...data }, update: data });
    }
    const known = new Set(pb.people.map((p) => p.id));
    const stale = await tx.person.findMany({ where: { id: { notIn: [...known] } }, select: { id: true, email: true } });
    for (const s of stale) await tx.person.update({ where: { id: s.id }, data: { active: false, email: `${s.email}#removed-${s.id}` } });
    for (const p of pb.people) {
      const data = {
        name: p.name,
        email: p.email,
        teamId: p.teamId,
        managerId: p.managerId,
        timeZone: p.timeZone,
        awayUntil: p.awayUntil,
        active: p.active,
      };
      await tx.person.upsert({ where: { id: p.id }, create: { id: p.id, ...data }, update: data });
    }
    // Their Slack and Teams ids: person_handle (src/personHandles.ts). A removed person's go too.
    await syncPlaybookHandles(tx, pb.people);
  });
}

/** In-memory index of the playbook's directory for lookups on the request path. */
export class Directory {
  readonly byId: Map<string, Person>;
  readonly byEmail: Map<string, Person>;
  readonly teams: Map<string, Team>;
  /** The Slack and Teams ids the playbook pins (links made at run time are in the database only). */
  readonly pinned: PinnedHandles;
  constructor(readonly playbook: Playbook) {
    this.byId = new Map(playbook.people.map((p) => [p.id, p]));
    this.byEmail = new Map(playbook.people.map((p) => [p.email.toLowerCase(), p]));
    this.teams = new Map(playbook.teams.map((t) => [t.id, t]));
    this.pinned = new PinnedHandles(playbook.people);
  }

  /** A person by id, email, or an id the playbook pins (Slack user id, Teams user id, Entra object id). */
  find(ref: string | null | undefined): Person | undefined {
    if (!ref) return undefined;
    const key = ref.trim();
    const pinned = () => {
      const id = this.pinned.personByAnyHandle(key);
      return id === undefined ? undefined : this.byId.get(id);
    };
    return this.byId.get(key) ?? this.byEmail.get(key.toLowerCase()) ?? pinned();
  }

  isAdmin(personId: string): boolean {
    return this.playbook.admins.includes(personId);
  }

  /** The people who lead `personId`: their manager, and their team's lead and head. */
  leadsOf(personId: string): Set<string> {
    const p = this.byId.get(personId);
    const leads = new Set<string>();
    if (!p) return leads;
    if (p.managerId) leads.add(p.managerId);
    const team = this.teams.get(p.teamId);
    if (team) {
      leads.add(team.leadId);
      leads.add(team.headId);
    }
    leads.delete(personId);
    return leads;
  }
}
