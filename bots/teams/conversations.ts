/**
 * Conversation references: what Teams gives the bot on every activity and what proactive
 * messages need later. Stored through PlatformStore under these keys (platform "teams"):
 *  - `<personId>`         the person's personal chat with the bot
 *  - `channel:<19:…>`     a channel (the base channel id: posting there starts a new thread)
 *  - `service:<tenant>`   the service URL last seen from that tenant, to reach channels and
 *                         people the bot has not heard from yet
 * Only activities from a served tenant get here (./tenants.ts admits them first), and each one
 * writes only its own conversation's reference and its own tenant's service URL: every reference
 * keeps the service URL and tenant it came with. There is no global "the service URL": one
 * tenant's install can never redirect where another's cards go. Links from Teams users to people
 * live in the person_handle table (src/personHandles.ts), not here.
 */
import { TurnContext, type ConversationReference } from 'botbuilder';
import type { PlatformStore } from '../../src/platformStore.js';
import type { ServedTenants } from './tenants.js';
import { channelDataOf } from './activity.js';

export const PLATFORM = 'teams';
export const serviceKey = (tenantId: string) => `service:${tenantId}`;
export const channelKey = (channelId: string) => `channel:${channelId}`;

export type Reference = Partial<ConversationReference> & Pick<ConversationReference, 'serviceUrl' | 'conversation'>;

export interface ServiceInfo {
  serviceUrl: string;
  tenantId: string | undefined;
  botId: string;
}

/** Writes references, skipping writes that would store what is already there. */
export class ConversationBook {
  /** key → JSON last written by this process. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly store: PlatformStore,
    private readonly appId: string,
    private readonly tenants: ServedTenants,
  ) {}

  /**
   * Records where this activity came from; `personId` when the sender is a known person.
   * `tenantId` is the activity's served tenant (./tenants.ts): the caller admitted it.
   */
  async capture(context: TurnContext, tenantId: string, personId: string | undefined): Promise<void> {
    if (!this.tenants.has(tenantId)) return;
    const a = context.activity;
    const base = TurnContext.getConversationReference(a) as Reference;
    delete base.activityId;
    // The tenant travels with the reference (Teams sometimes sends it only in channelData).
    const ref: Reference = { ...base, conversation: { ...base.conversation, tenantId } };
    await this.save(serviceKey(tenantId), { serviceUrl: a.serviceUrl, tenantId, botId: a.recipient?.id ?? `28:${this.appId}` } satisfies ServiceInfo);
    const type = a.conversation?.conversationType;
    const cd = channelDataOf(context);
    if (type === 'personal') {
      if (personId) await this.save(personId, ref);
    } else if (type === 'channel') {
      const channelId = cd.channel?.id ?? a.conversation.id.split(';')[0]!;
      await this.save(channelKey(channelId), { ...ref, conversation: { ...ref.conversation, id: channelId } });
      // Installing in a team: the team id is also its General channel's id.
      if (cd.team?.id && cd.team.id !== channelId) await this.save(channelKey(cd.team.id), { ...ref, conversation: { ...ref.conversation, id: cd.team.id } });
    }
  }

  /** The person's personal chat, unless it was stored from a tenant no longer served. */
  async personal(personId: string): Promise<Reference | undefined> {
    return this.ifServed(await this.store.conversation<Reference>(PLATFORM, personId));
  }

  async savePersonal(personId: string, ref: Reference): Promise<void> {
    await this.save(personId, ref);
  }

  /** The service URL last seen from `tenantId` (default: the home tenant), never another tenant's. */
  async service(tenantId: string | undefined = this.tenants.home): Promise<ServiceInfo | undefined> {
    return this.tenants.has(tenantId) ? this.store.conversation<ServiceInfo>(PLATFORM, serviceKey(tenantId)) : undefined;
  }

  /**
   * Where to post in a channel: the stored reference, or one built from the home tenant's service
   * URL (Teams accepts a channel id as a conversation id).
   */
  async channel(channelId: string): Promise<Reference | undefined> {
    const stored = this.ifServed(await this.store.conversation<Reference>(PLATFORM, channelKey(channelId)));
    if (stored) return stored;
    const service = await this.service();
    return service ? this.synthesize(service, channelId, 'channel') : undefined;
  }

  /**
   * A personal chat by its conversation id (a previous owner's, to update a card there): the
   * stored reference with that id, with its own service URL; else one built from the home
   * tenant's service URL.
   */
  async chat(conversationId: string): Promise<Reference | undefined> {
    const stored = this.ifServed(await this.store.conversationById<Reference>(PLATFORM, conversationId));
    if (stored) return stored;
    const service = await this.service();
    return service ? this.synthesize(service, conversationId, 'personal') : undefined;
  }

  /** References stored before tenants were checked may name a tenant not (or no longer) served. */
  private ifServed(ref: Reference | undefined): Reference | undefined {
    if (!ref) return undefined;
    const tenantId = ref.conversation.tenantId;
    return this.tenants.has(tenantId) ? ref : undefined;
  }

  synthesize(service: ServiceInfo, conversationId: string, conversationType: 'channel' | 'personal'): Reference {
    return {
      channelId: 'msteams',
      serviceUrl: service.serviceUrl,
      bot: { id: service.botId, name: 'Baton' },
      conversation: { id: conversationId, conversationType, isGroup: conversationType === 'channel', name: '', ...(service.tenantId ? { tenantId: service.tenantId } : {}) },
    };
  }

  private async save(key: string, value: object): Promise<void> {
    const json = JSON.stringify(value);
    if (this.written.get(key) === json) return;
    await this.store.saveConversation(PLATFORM, key, value);
    this.written.set(key, json);
  }
}
