/**
 * Slack user ↔ playbook person. The playbook's `slackUserId` wins; otherwise the email is the
 * link: inbound, `users.info` gives a Slack user's email; outbound, `users.lookupByEmail` finds
 * the Slack account of a person listed only by email. Answers are cached (Slack rate-limits both).
 */
import type { WebClient } from '@slack/web-api';
import type { Directory } from '../../src/directory.js';
import type { Person } from '../../src/playbook/schema.js';
import { slackErrorCode } from './api.js';

interface Cached<T> {
  value: T;
  until: number;
}

export class SlackUserMapper {
  private readonly bySlackId = new Map<string, Cached<Person | null>>();
  private readonly byEmail = new Map<string, Cached<string | null>>();

  constructor(
    private readonly directory: Directory,
    private readonly client: WebClient,
    private readonly opts: { ttlMs: number; now?: () => number } = { ttlMs: 10 * 60_000 },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /**
   * The playbook person behind a Slack user id, or undefined when there is none. Throws when
   * Slack could not be asked (the caller says "try again" rather than "you're unknown").
   */
  async personFor(slackUserId: string): Promise<Person | undefined> {
    const direct = this.directory.find(slackUserId);
    if (direct) return direct;
    const hit = this.bySlackId.get(slackUserId);
    if (hit && hit.until > this.now()) return hit.value ?? undefined;
    let person: Person | undefined;
    try {
      const r = await this.client.users.info({ user: slackUserId });
      const email = r.user?.profile?.email;
      person = email ? this.directory.find(email) : undefined;
    } catch (err) {
      if (slackErrorCode(err) !== 'user_not_found') throw err;
    }
    this.bySlackId.set(slackUserId, { value: person ?? null, until: this.now() + this.opts.ttlMs });
    return person;
  }

  /** The Slack user id to DM a person, or undefined when they have no Slack account. Throws when Slack could not be asked. */
  async slackIdFor(person: Pick<Person, 'email' | 'slackUserId'>): Promise<string | undefined> {
    if (person.slackUserId) return person.slackUserId;
    const email = person.email.toLowerCase();
    const hit = this.byEmail.get(email);
    if (hit && hit.until > this.now()) return hit.value ?? undefined;
    let id: string | undefined;
    try {
      const r = await this.client.users.lookupByEmail({ email });
      id = r.user?.id;
    } catch (err) {
      if (slackErrorCode(err) !== 'users_not_found') throw err;
    }
    this.byEmail.set(email, { value: id ?? null, until: this.now() + this.opts.ttlMs });
    if (id) {
      const p = this.directory.find(email);
      if (p) this.bySlackId.set(id, { value: p, until: this.now() + this.opts.ttlMs });
    }
    return id;
  }
}
