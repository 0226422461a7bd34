/**
 * Slack user ↔ playbook person, through person handles (src/personHandles.ts). A Slack id the
 * playbook pins wins; else a link made earlier; else the email is the link: inbound, `users.info`
 * gives a Slack user's email; outbound, `users.lookupByEmail` finds the Slack account of a person
 * listed only by email. A match by email is recorded as a "linked" handle in the served workspace
 * (with a directory audit row), so it holds across restarts and is never re-pointed; answers are
 * also cached in memory (Slack rate-limits both calls).
 */
import type { WebClient } from '@slack/web-api';
import type { Directory } from '../../src/directory.js';
import { ANY_WORKSPACE, type PersonHandles } from '../../src/personHandles.js';
import type { Person } from '../../src/playbook/schema.js';
import { slackErrorCode } from './api.js';

const PLATFORM = 'slack';

interface Cached<T> {
  value: T;
  until: number;
}

export interface SlackUserMapperOptions {
  ttlMs: number;
  now?: () => number;
  /** Where links are looked up and recorded. */
  handles: PersonHandles;
  /** The Slack workspace Baton serves (team id): the workspace of the links it makes. */
  workspace: () => Promise<string>;
}

export class SlackUserMapper {
  private readonly bySlackId = new Map<string, Cached<Person | null>>();
  private readonly byEmail = new Map<string, Cached<string | null>>();

  constructor(
    private readonly directory: Directory,
    private readonly client: WebClient,
    private readonly opts: SlackUserMapperOptions,
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /**
   * The playbook person behind a Slack user id, or undefined when there is none. Throws when
   * Slack (or the database) could not be asked (the caller says "try again" rather than "you're unknown").
   */
  async personFor(slackUserId: string): Promise<Person | undefined> {
    const pinned = this.directory.pinned.personByHandle(PLATFORM, ANY_WORKSPACE, slackUserId);
    if (pinned) return this.directory.byId.get(pinned);
    const hit = this.bySlackId.get(slackUserId);
    if (hit && hit.until > this.now()) return hit.value ?? undefined;
    const workspace = await this.opts.workspace();
    const handle = await this.opts.handles.personByHandle(PLATFORM, workspace, slackUserId);
    let person: Person | undefined;
    if (handle) {
      person = this.directory.byId.get(handle.personId);
    } else {
      let email: string | undefined;
      try {
        const r = await this.client.users.info({ user: slackUserId });
        email = r.user?.profile?.email?.toLowerCase();
      } catch (err) {
        if (slackErrorCode(err) !== 'user_not_found') throw err;
      }
      const byEmail = email ? this.directory.byEmail.get(email) : undefined;
      if (email && byEmail) person = await this.link(workspace, slackUserId, byEmail, `linked by Slack profile email ${email} (users.info)`, email);
    }
    this.bySlackId.set(slackUserId, { value: person ?? null, until: this.now() + this.opts.ttlMs });
    return person;
  }

  /** The Slack user id to DM a person, or undefined when they have no Slack account. Throws when Slack could not be asked. */
  async slackIdFor(person: Pick<Person, 'email' | 'slackUserId'> & { id?: string }): Promise<string | undefined> {
    if (person.slackUserId) return person.slackUserId;
    const email = person.email.toLowerCase();
    const hit = this.byEmail.get(email);
    if (hit && hit.until > this.now()) return hit.value ?? undefined;
    const workspace = await this.opts.workspace();
    const known = person.id ? (this.directory.pinned.handleOf(person.id, PLATFORM, workspace) ?? (await this.opts.handles.handleOf(person.id, PLATFORM, workspace))) : undefined;
    if (known) {
      this.byEmail.set(email, { value: known, until: this.now() + this.opts.ttlMs });
      return known;
    }
    let id: string | undefined;
    try {
      const r = await this.client.users.lookupByEmail({ email });
      id = r.user?.id;
    } catch (err) {
      if (slackErrorCode(err) !== 'users_not_found') throw err;
    }
    this.byEmail.set(email, { value: id ?? null, until: this.now() + this.opts.ttlMs });
    const p = this.directory.byEmail.get(email);
    if (id && p) {
      const linked = await this.link(workspace, id, p, `linked by Slack profile email ${email} (users.lookupByEmail)`, email);
      this.bySlackId.set(id, { value: linked ?? null, until: this.now() + this.opts.ttlMs });
    }
    return id;
  }

  /** Records the match as a link; returns whoever the account is linked to afterwards (an earlier link wins). */
  private async link(workspace: string, slackUserId: string, person: Person, detail: string, email: string): Promise<Person | undefined> {
    const holder = await this.opts.handles.link({ platform: PLATFORM, workspace, externalId: slackUserId }, person.id, detail, { email });
    return this.directory.byId.get(holder);
  }
}
