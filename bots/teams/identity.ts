/**
 * Who is talking to the bot: a Teams user mapped to a playbook person by Teams user id (29:…) or
 * Entra object id (both may be listed in the playbook), else by email/UPN, looked up once from
 * Teams and remembered. Also the reverse: a person's Teams user id, for `refresh.userIds`.
 */
import { TeamsInfo, type TurnContext } from 'botbuilder';
import type { Directory } from '../../src/directory.js';
import type { Logger } from '../../src/logger.js';
import type { Person } from '../../src/playbook/schema.js';
import type { ConversationBook } from './conversations.js';

export class TeamsIdentity {
  constructor(
    private readonly directory: Directory,
    private readonly book: ConversationBook,
    private readonly log: Logger,
  ) {}

  async personFor(context: TurnContext): Promise<Person | undefined> {
    const from = context.activity.from;
    if (!from?.id) return undefined;
    const direct = this.directory.find(from.id) ?? (from.aadObjectId ? this.directory.find(from.aadObjectId) : undefined);
    if (direct) return direct;
    const linked = await this.book.linkedPerson(from.id);
    if (linked) {
      const p = this.directory.byId.get(linked);
      if (p) return p;
    }
    const email = await this.emailOf(context, from.id);
    const byEmail = email ? this.directory.find(email) : undefined;
    if (byEmail) {
      await this.book.linkUser(from.id, byEmail.id);
      this.log.info({ personId: byEmail.id, teamsUserId: from.id }, 'linked a Teams user to a playbook person by email');
    }
    return byEmail;
  }

  /** The person's Teams user id: from the playbook, else learned from their personal chat. */
  async teamsUserIdOf(personId: string): Promise<string | undefined> {
    const p = this.directory.byId.get(personId);
    if (p?.teamsUserId) return p.teamsUserId;
    const ref = await this.book.personal(personId);
    return ref?.user?.id;
  }

  private async emailOf(context: TurnContext, userId: string): Promise<string | undefined> {
    try {
      const member = await TeamsInfo.getMember(context, userId);
      return member.email ?? member.userPrincipalName ?? undefined;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), teamsUserId: userId }, 'could not look up a Teams user\'s email');
      return undefined;
    }
  }
}
