/**
 * Who is talking to the bot. A Teams user is a playbook person by the ids the playbook pins for
 * them (Teams user id 29:…, or Entra object id). Only for a person with neither pinned may an
 * unknown Teams id be linked, once, by the roster's sign-in name:
 *  - only from a served tenant (./tenants.ts admits the activity before this runs);
 *  - only by `userPrincipalName`, which the tenant's admin sets; never the roster's `email`,
 *    which is free text a user or a guest account can make anyone's address;
 *  - only on a domain the playbook declares (`organization.emailDomains`), so a partner's or a
 *    guest's sign-in name never becomes one of our people;
 *  - never re-pointed: a Teams id linked to someone stays theirs (src/identityLinks.ts).
 * Every link and every refused link goes to the directory audit log; refusals also to the log.
 * Also the reverse: a person's Teams user id, for `refresh.userIds`.
 */
import { TeamsInfo, type TurnContext } from 'botbuilder';
import type { Directory } from '../../src/directory.js';
import type { IdentityLinks } from '../../src/identityLinks.js';
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
    private readonly links: IdentityLinks,
    private readonly tenants: ServedTenants,
    private readonly log: Logger,
  ) {}

  /** The person behind this activity from served tenant `tenantId`, or undefined (a stranger). */
  async personFor(context: TurnContext, tenantId: string): Promise<Person | undefined> {
    const from = context.activity.from;
    if (!from?.id || !this.tenants.has(tenantId)) return undefined;
    const pinned = this.pinned(from.id, from.aadObjectId);
    if (pinned) return pinned;

    const key = { platform: PLATFORM, tenantId, externalUserId: from.id };
    const linkedId = await this.links.find(key);
    const linked = linkedId ? this.directory.byId.get(linkedId) : undefined;
    // A link stands only while its person still has no pinned id: once the playbook pins one, that id is who they are.
    if (linked && !hasPinnedId(linked)) return linked;

    const upn = await this.upnOf(context, from.id);
    const target = upn ? this.directory.byEmail.get(upn) : undefined;
    if (!upn || !target) return undefined;
    const refuse = (why: string) => this.refuse(key, target, upn, why);

    if (linkedId) return refuse(`this Teams account is already linked to ${linkedId}; a link is never moved to someone else (pin the right Teams id in the playbook instead)`);
    const domain = upn.slice(upn.lastIndexOf('@') + 1);
    if (!this.directory.playbook.organization.emailDomains.includes(domain)) return refuse(`the sign-in name's domain ${domain} is not one of organization.emailDomains`);
    if (hasPinnedId(target)) return refuse(`${target.name}'s Teams id is pinned in the playbook, and this is a different Teams account`);
    if (!target.active) return refuse(`${target.name} is not active in the playbook`);

    const holder = await this.links.link(key, target.id, 'upn', `linked by UPN ${upn}`, { upn, name: context.activity.from.name ?? null });
    if (holder !== target.id) return refuse(`this Teams account is already linked to ${holder}; a link is never moved to someone else`);
    this.log.info({ personId: target.id, teamsUserId: from.id, tenantId }, 'linked a Teams user to a playbook person by their sign-in name (UPN)');
    return target;
  }

  teamsUserIdOf(personId: string): Promise<string | undefined> {
    return teamsUserIdOf(this.directory, this.book, personId);
  }

  /** Only the pinned id fields: `Directory.find` also matches person ids and emails, which a Teams id must never be taken for. */
  private pinned(teamsUserId: string, aadObjectId: string | undefined): Person | undefined {
    const aad = aadObjectId?.toLowerCase();
    return this.directory.playbook.people.find((p) => p.teamsUserId === teamsUserId || (aad !== undefined && p.aadObjectId?.toLowerCase() === aad));
  }

  private async refuse(key: { platform: string; tenantId: string; externalUserId: string }, target: Person, upn: string, why: string): Promise<undefined> {
    const memo = `${key.tenantId}\u0000${key.externalUserId}\u0000${target.id}\u0000${why}`;
    if (this.refused.has(memo)) return undefined;
    if (this.refused.size >= REFUSALS_REMEMBERED) this.refused.clear();
    this.refused.add(memo);
    this.log.warn({ teamsUserId: key.externalUserId, tenantId: key.tenantId, personId: target.id, upn, reason: why }, `refused to link a Teams user to ${target.id}: ${why}`);
    await this.links.audit({ type: 'identity.link_refused', ...key, personId: target.id, detail: `not linked to ${target.id} by UPN ${upn}: ${why}`, data: { upn } });
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
  const p = directory.byId.get(personId);
  if (p?.teamsUserId) return p.teamsUserId;
  const ref = await book.personal(personId);
  return ref?.user?.id;
}

function hasPinnedId(p: Person): boolean {
  return Boolean(p.teamsUserId || p.aadObjectId);
}
