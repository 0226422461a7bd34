/**
 * Who a platform account is: the `person_handle` table, (platform, workspace, external id) → person.
 * One person may have several handles — a Slack id in each of two workspaces, a Teams guest id in
 * a partner's tenant — which one column per platform on the person could not say.
 *
 * Two sources, one table:
 *  - "playbook": the ids the playbook pins (slackUserId, teamsUserId, aadObjectId, handles). They
 *    are the authority: replaced at every start by `syncPlaybookHandles`, and a pinned account wins
 *    over a link that named the same account.
 *  - "linked": accounts matched at run time (Teams by sign-in name, Slack by profile email). The
 *    rules for when a link may be made live with the platform adapters; this module guarantees that
 *    a link, once made, is never re-pointed: the first writer wins and a second one is told who
 *    holds it. Every link made is written to the directory audit log (`directory_event`) in the
 *    same transaction.
 *
 * The workspace is the Slack team id or the Microsoft 365 tenant id. The playbook names none, so its
 * handles have workspace "" (unknown), which matches in every workspace.
 *
 * `PinnedHandles` answers the same questions from the playbook alone, synchronously, for code that
 * cannot wait on the database (Directory.find, the people on a handoff view).
 */
import type { Prisma } from './generated/prisma/client.js';
import type { Database } from './store/database.js';
import type { Clock } from './clock.js';
import type { Person } from './playbook/schema.js';

/** "aad" is the Microsoft Entra (Azure AD) object id, the same person in every Teams app. */
export const HANDLE_PLATFORMS = ['slack', 'teams', 'aad'] as const;
export type HandlePlatform = (typeof HANDLE_PLATFORMS)[number];
export type HandleSource = 'playbook' | 'linked';
/** The workspace of a handle whose workspace nobody told us (the playbook's): matches in all. */
export const ANY_WORKSPACE = '';

export interface HandleKey {
  platform: HandlePlatform;
  workspace: string;
  externalId: string;
}

export interface PersonHandle extends HandleKey {
  personId: string;
  source: HandleSource;
}

export type DirectoryEventType = 'identity.linked' | 'identity.link_refused';

export interface DirectoryEventInput {
  type: DirectoryEventType;
  platform: string;
  tenantId?: string | undefined;
  externalUserId?: string | undefined;
  personId?: string | undefined;
  detail: string;
  data?: Record<string, unknown>;
}

/** Entra object ids are GUIDs, which compare without case; every other id is compared as given. */
export function normalizeExternalId(platform: HandlePlatform, externalId: string): string {
  const id = externalId.trim();
  return platform === 'aad' ? id.toLowerCase() : id;
}

/** The handles the playbook pins for its people: the three id fields (any workspace), then `handles`. */
export function playbookHandles(people: readonly Person[]): PersonHandle[] {
  const out: PersonHandle[] = [];
  const add = (p: Person, platform: HandlePlatform, workspace: string, id: string | null | undefined) => {
    if (id) out.push({ platform, workspace, externalId: normalizeExternalId(platform, id), personId: p.id, source: 'playbook' });
  };
  for (const p of people) {
    add(p, 'slack', ANY_WORKSPACE, p.slackUserId);
    add(p, 'teams', ANY_WORKSPACE, p.teamsUserId);
    add(p, 'aad', ANY_WORKSPACE, p.aadObjectId);
    for (const h of p.handles ?? []) add(p, h.platform, h.workspace ?? ANY_WORKSPACE, h.id);
  }
  return out;
}

const keyOf = (platform: string, workspace: string, externalId: string) => `${platform}\u0000${workspace}\u0000${externalId}`;

/** The playbook's handles in memory: what is pinned, without the database. */
export class PinnedHandles {
  private readonly byKey = new Map<string, PersonHandle>();
  private readonly byPerson = new Map<string, PersonHandle[]>();
  /** platform + id in any workspace → person (ids are unique per platform in a valid playbook). */
  private readonly byExternalId = new Map<string, string>();

  constructor(people: readonly Person[]) {
    for (const h of playbookHandles(people)) {
      this.byKey.set(keyOf(h.platform, h.workspace, h.externalId), h);
      const any = keyOf(h.platform, '*', h.externalId);
      if (!this.byExternalId.has(any)) this.byExternalId.set(any, h.personId);
      const list = this.byPerson.get(h.personId) ?? [];
      list.push(h);
      this.byPerson.set(h.personId, list);
    }
  }

  /** The person pinned to this account in `workspace` (or in any workspace). */
  personByHandle(platform: HandlePlatform, workspace: string, externalId: string): string | undefined {
    const id = normalizeExternalId(platform, externalId);
    return (this.byKey.get(keyOf(platform, workspace, id)) ?? this.byKey.get(keyOf(platform, ANY_WORKSPACE, id)))?.personId;
  }

  /** The person pinned to this id on any platform and in any workspace, for references that do not say which. */
  personByAnyHandle(externalId: string): string | undefined {
    for (const platform of HANDLE_PLATFORMS) {
      const found = this.byExternalId.get(keyOf(platform, '*', normalizeExternalId(platform, externalId)));
      if (found) return found;
    }
    return undefined;
  }

  /** The person's pinned id on `platform`: the one for `workspace`, else one for any workspace, else the first. */
  handleOf(personId: string, platform: HandlePlatform, workspace?: string): string | undefined {
    return pick(this.byPerson.get(personId) ?? [], platform, workspace)?.externalId;
  }

  /** Whether the playbook pins any of these platforms' ids for the person. */
  isPinned(personId: string, platforms: readonly HandlePlatform[]): boolean {
    return (this.byPerson.get(personId) ?? []).some((h) => platforms.includes(h.platform));
  }
}

/**
 * The handle to use in `workspace`: that workspace's own first, then one for any workspace, then
 * another workspace's (with no workspace given: any workspace's first); pinned before linked at
 * each step; otherwise the order given.
 */
function pick(handles: readonly PersonHandle[], platform: HandlePlatform, workspace?: string): PersonHandle | undefined {
  const place = (h: PersonHandle) => (workspace !== undefined && h.workspace === workspace ? 0 : h.workspace === ANY_WORKSPACE ? 1 : 2);
  const rank = (h: PersonHandle) => place(h) * 2 + (h.source === 'playbook' ? 0 : 1);
  let best: PersonHandle | undefined;
  for (const h of handles) if (h.platform === platform && (!best || rank(h) < rank(best))) best = h;
  return best;
}

interface HandleRow {
  platform: string;
  workspace: string;
  externalId: string;
  personId: string;
  source: string;
}

const toHandle = (r: HandleRow): PersonHandle => ({
  platform: r.platform as HandlePlatform,
  workspace: r.workspace,
  externalId: r.externalId,
  personId: r.personId,
  source: r.source as HandleSource,
});

/** The handle table: the playbook's handles and the links made at run time, and the directory audit log. */
export class PersonHandles {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /**
   * Who this account is in `workspace`: a pinned handle first (the playbook is the authority), then
   * one for this workspace before one for any workspace.
   */
  async personByHandle(platform: HandlePlatform, workspace: string, externalId: string): Promise<PersonHandle | undefined> {
    const id = normalizeExternalId(platform, externalId);
    const rows = await this.db.prisma.personHandle.findMany({ where: { platform, externalId: id, workspace: { in: [workspace, ANY_WORKSPACE] } } });
    const handles = rows.map(toHandle);
    return handles.find((h) => h.source === 'playbook' && h.workspace === workspace) ?? handles.find((h) => h.source === 'playbook') ?? handles.find((h) => h.workspace === workspace) ?? handles[0];
  }

  /** The person's id on `platform`: `workspace`'s own, else one for any workspace, else another's; pinned before linked; older first. */
  async handleOf(personId: string, platform: HandlePlatform, workspace?: string): Promise<string | undefined> {
    const rows = await this.db.prisma.personHandle.findMany({ where: { personId, platform }, orderBy: { createdAt: 'asc' } });
    return pick(rows.map(toHandle), platform, workspace)?.externalId;
  }

  /** Every handle of the person, oldest first. */
  async handlesOf(personId: string): Promise<PersonHandle[]> {
    const rows = await this.db.prisma.personHandle.findMany({ where: { personId }, orderBy: [{ createdAt: 'asc' }, { platform: 'asc' }, { externalId: 'asc' }] });
    return rows.map(toHandle);
  }

  /**
   * Links the account to `personId` and audits it, in one transaction. Returns the person the
   * account is linked to afterwards: `personId`, or whoever an earlier (or concurrent) link or pin
   * named, in which case nothing was written and the caller refuses.
   */
  async link(key: HandleKey, personId: string, detail: string, data?: Record<string, unknown>): Promise<string> {
    const now = this.clock.now();
    const externalId = normalizeExternalId(key.platform, key.externalId);
    return this.db.prisma.$transaction(async (tx) => {
      // ON CONFLICT DO NOTHING: a concurrent link of the same account never overwrites the first one.
      const inserted = await tx.$executeRaw`
        INSERT INTO person_handle (platform, workspace, external_id, person_id, source, created_at)
        VALUES (${key.platform}, ${key.workspace}, ${externalId}, ${personId}, 'linked', ${now})
        ON CONFLICT DO NOTHING`;
      if (inserted !== 1) {
        const holder = await tx.personHandle.findUnique({ where: { platform_workspace_externalId: { platform: key.platform, workspace: key.workspace, externalId } } });
        return holder?.personId ?? personId;
      }
      await tx.directoryEvent.create({
        data: eventRow({ type: 'identity.linked', platform: key.platform, tenantId: key.workspace, externalUserId: externalId, personId, detail, ...(data ? { data } : {}) }, now),
      });
      return personId;
    });
  }

  /** Appends to the directory audit log. */
  async audit(event: DirectoryEventInput): Promise<void> {
    await this.db.prisma.directoryEvent.create({ data: eventRow(event, this.clock.now()) });
  }
}

/**
 * Makes the table's "playbook" handles the playbook's, inside the directory sync's transaction:
 * new ones added, changed ones re-pointed (a pinned account also takes over a link that named it),
 * dropped ones deleted. Links made at run time stay. Unchanged rows keep their `created_at`.
 */
export async function syncPlaybookHandles(tx: Prisma.TransactionClient, people: readonly Person[]): Promise<void> {
  const wanted = playbookHandles(people);
  const keep = new Set(wanted.map((h) => keyOf(h.platform, h.workspace, h.externalId)));
  const current = await tx.personHandle.findMany({ where: { source: 'playbook' }, select: { platform: true, workspace: true, externalId: true } });
  for (const h of current) {
    if (!keep.has(keyOf(h.platform, h.workspace, h.externalId))) {
      await tx.personHandle.delete({ where: { platform_workspace_externalId: { platform: h.platform, workspace: h.workspace, externalId: h.externalId } } });
    }
  }
  for (const h of wanted) {
    await tx.$executeRaw`
      INSERT INTO person_handle (platform, workspace, external_id, person_id, source)
      VALUES (${h.platform}, ${h.workspace}, ${h.externalId}, ${h.personId}, 'playbook')
      ON CONFLICT (platform, workspace, external_id) DO UPDATE SET person_id = EXCLUDED.person_id, source = 'playbook'
      WHERE person_handle.person_id IS DISTINCT FROM EXCLUDED.person_id OR person_handle.source IS DISTINCT FROM 'playbook'`;
  }
}

function eventRow(e: DirectoryEventInput, at: Date): Prisma.DirectoryEventCreateInput {
  return {
    at,
    type: e.type,
    platform: e.platform,
    tenantId: e.tenantId ?? null,
    externalUserId: e.externalUserId ?? null,
    personId: e.personId ?? null,
    detail: e.detail,
    ...(e.data ? { data: e.data as Prisma.InputJsonValue } : {}),
  };
}
