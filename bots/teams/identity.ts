/**
 * Who is talking to the bot. A Teams user is a playbook person by the ids the playbook pins for
 * them (Teams user id 29:…, or Entra object id). Only for a person with neither pinned may an
 * unknown Teams id be linked, once, by the roster's sign-in name:
 *  - only from a served tenant (./tenants.ts admits the activity before this runs);
 *  - only by `userPrincipalName`, which the tenant's admin sets; never the roster's `email`,
 *    which is free text a user or a guest account can make anyone's address;
 *  - only on a domain the playbook declares (`organization.emailDomains`), so a partner's or a
 *    guest's sign-in name never becomes one of our people;
 *  - never re-pointed: a Teams id linked to someone stays theirs (src/personHandles.ts).
 * Every link and every refused link goes to the directory audit log; refusals also to the log.
 * Also the reverse: a person's Teams user id, for `refresh.userIds`. Pinned ids and links are both
 * person handles (src/personHandles.ts): pinned ones from the playbook in memory, links from the table.
 */
import { TeamsInfo, type TurnContext } from 'botbuilder';
import type { Directory } from '../../src/directory.js';
import type { HandleKey, PersonHandles } from '../../src/personHandles.js';
import type { Logger } from '../../src/logger.js';
import type { Person } from '../../src/playbook/schema.js';
import { PLATFORM, type ConversationBook } from './conversations.js';
import type { ServedTenants } from './tenants.js';

/** How many refusals to remember, so a user writing again does not add the same audit entry. */
const REFUSALS_REMEMBERED = 10_000;

export class TeamsIdentity {
  private readonly refused = new Set<string>();

  constructor(
    private readonly directory: Directory,
    private readonly book: ConversationBook,
    private readonly handles: PersonHandles,
    private readonly tenants: ServedTenants,
    private readonly log: Logger,
  ) {}

  /** The person behind this activity from served tenant `tenantId`, or undefined (a stranger). */
  async personFor(context: TurnContext, tenantId: string): Promise<Person | undefined> {
    const from = context.activity.from;
    if (!from?.id || !this.tenants.has(tenantId)) return undefined;
    const pinned = this.pinned(tenantId, from.id, from.aadObjectId);
    if (pinned) return pinned;

    const key: HandleKey = { platform: PLATFORM, workspace: tenantId, externalId: from.id };
    const handle = await this.handles.personByHandle(PLATFORM, tenantId, from.id);
    // Pinned by another playbook than this process's (another instance synced a newer one): neither
    // trusted nor linked here until this process runs that playbook too.
    if (handle?.source === 'playbook') return undefined;
    const linkedId = handle?.workspace === tenantId ? handle.personId : undefined;
    const linked = linkedId ? this.directory.byId.get(linkedId) : undefined;
    // A link stands only while its person still has no pinned id: once the playbook pins one, that id is who they are.
    if (linked && !this.hasPinnedId(linked)) return linked;

    const upn = await this.upnOf(context, from.id);
    const target = upn ? this.directory.byEmail.get(upn) : undefined;
    if (!upn || !target) return undefined;
    const refuse = (why: string) => this.refuse(key, target, upn, why);

    if (linkedId) return refuse(`this Teams account is already linked to ${linkedId}; a link is never moved to someone else (pin the right Teams id in the playbook instead)`);
    const domain = upn.slice(upn.lastIndexOf('@') + 1);
    if (!this.directory.playbook.organization.emailDomains.includes(domain)) return refuse(`the sign-in name's domain ${domain} is not one of organization.emailDomains`);
    if (this.hasPinnedId(target)) return refuse(`${target.name}'s Teams id is pinned in the playbook, and this is a different Teams account`);
    if (!target.active) return refuse(`${target.name} is not active in the playbook`);

    const holder = await this.handles.link(key, target.id, `linked by UPN ${upn}`, { upn, name: context.activity.from.name ?? null });
    if (holder !== target.id) return refuse(`this Teams account is already linked to ${holder}; a link is never moved to someone else`);
    this.log.info({ personId: target.id, teamsUserId: from.id, tenantId }, 'linked a Teams user to a playbook person by their sign-in name (UPN)');
    return target;
  }

  /** Pinned in the playbook, else linked, else the user of their personal chat. */
  async teamsUserIdOf(personId: string): Promise<string | undefined> {
    return this.directory.pinned.handleOf(personId, PLATFORM) ?? (await this.handles.handleOf(personId, PLATFORM)) ?? (await teamsUserIdOf(this.directory, this.book, personId));
  }

  /** Only pinned ids: `Directory.find` also matches person ids and emails, which a Teams id must never be taken for. */
  private pinned(tenantId: string, teamsUserId: string, aadObjectId: string | undefined): Person | undefined {
    const pinned = this.directory.pinned;
    const id = pinned.personByHandle(PLATFORM, tenantId, teamsUserId) ?? (aadObjectId ? pinned.personByHandle('aad', tenantId, aadObjectId) : undefined);
    return id === undefined ? undefined : this.directory.byId.get(id);
  }

  private hasPinnedId(p: Person): boolean {
    return this.directory.pinned.isPinned(p.id, [PLATFORM, 'aad']);
  }

  private async refuse(key: HandleKey, target: Person, upn: string, why: string): Promise<undefined> {
    const memo = `${key.workspace}\u0000${key.externalId}\u0000${target.id}\u0000${why}`;
    if (this.refused.has(memo)) return undefined;
    if (this.refused.size >= REFUSALS_REMEMBERED) this.refused.clear();
    this.refused.add(memo);
    this.log.warn({ teamsUserId: key.externalId, tenantId: key.workspace, personId: target.id, upn, reason: why }, `refused to link a Teams user to ${target.id}: ${why}`);
    await this.handles.audit({
      type: 'identity.link_refused',
      platform: key.platform,
      tenantId: key.workspace,
      externalUserId: key.externalId,
      personId: target.id,
      detail: `not linked to ${target.id} by UPN ${upn}: ${why}`,
      data: { upn },
    });
    return undefined;
  }

  /** The roster's userPrincipalName, lower-cased; undefined when Teams does not give one. */
  private async upnOf(context: TurnContext, userId: string): Promise<string | undefined> {
    try {
      const member = await TeamsInfo.getMember(context, userId);
      const upn = member.userPrincipalName?.trim().toLowerCase();
      return upn && upn.includes('@') ? upn : undefined;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), teamsUserId: userId }, "could not look up a Teams user's sign-in name");
      return undefined;
    }
  }
}

/** A person's Teams user id: from the playbook, else learned from their personal chat (in a served tenant). */
export async function teamsUserIdOf(directory: Directory, book: ConversationBook, personId: string): Promise<string | undefined> {
  const pinned = directory.pinned.handleOf(personId, PLATFORM);
  if (pinned) return pinned;
  const ref = await book.personal(personId);
  return ref?.user?.id;
}
