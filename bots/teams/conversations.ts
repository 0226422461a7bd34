/**
 * Conversation references: what Teams gives the bot on every activity and what proactive
 * messages need later. Stored through PlatformStore under these keys (platform "teams"):
 *  - `<personId>`        the person's personal chat with the bot
 *  - `channel:<19:…>`    a channel (the base channel id: posting there starts a new thread)
 *  - `user:<29:…>`       a learned link Teams user → playbook person (found by email once)
 *  - `bot:service`       the latest service URL and tenant, to reach channels and people the
 *                        bot has not heard from yet
 */
import { TurnContext, type ConversationReference } from 'botbuilder';
import type { PlatformStore } from '../../src/platformStore.js';

export const PLATFORM = 'teams';
export const SERVICE_KEY = 'bot:service';
export const channelKey = (channelId: string) => `channel:${channelId}`;
export const userLinkKey = (teamsUserId: string) => `user:${teamsUserId}`;

export type Reference = Partial<ConversationReference> & Pick<ConversationReference, 'serviceUrl' | 'conversation'>;

export interface ServiceInfo {
  serviceUrl: string;
  tenantId: string | undefined;
  botId: string;
}

interface TeamsChannelData {
  channel?: { id?: string };
  team?: { id?: string };
  tenant?: { id?: string };
}

export function channelDataOf(context: TurnContext): TeamsChannelData {
  const d: unknown = context.activity.channelData;
  return typeof d === 'object' && d !== null ? (d as TeamsChannelData) : {};
}

export function tenantOf(context: TurnContext): string | undefined {
  return channelDataOf(context).tenant?.id ?? context.activity.conversation?.tenantId;
}

/** Writes references, skipping writes that would store what is already there. */
export class ConversationBook {
  /** key → JSON last written by this process. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly store: PlatformStore,
    private readonly appId: string,
  ) {}

  /** Records where this activity came from; `personId` when the sender is a known person. */
  async capture(context: TurnContext, personId: string | undefined): Promise<void> {
    const a = context.activity;
    const ref = TurnContext.getConversationReference(a) as Reference;
    delete ref.activityId;
    const tenantId = tenantOf(context);
    await this.save(SERVICE_KEY, { serviceUrl: a.serviceUrl, tenantId, botId: a.recipient?.id ?? `28:${this.appId}` } satisfies ServiceInfo);
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

  async linkUser(teamsUserId: string, personId: string): Promise<void> {
    await this.save(userLinkKey(teamsUserId), { personId });
  }

  async linkedPerson(teamsUserId: string): Promise<string | undefined> {
    const link = await this.store.conversation<{ personId?: string }>(PLATFORM, userLinkKey(teamsUserId));
    return typeof link?.personId === 'string' ? link.personId : undefined;
  }

  personal(personId: string): Promise<Reference | undefined> {
    return this.store.conversation<Reference>(PLATFORM, personId);
  }

  async savePersonal(personId: string, ref: Reference): Promise<void> {
    await this.save(personId, ref);
  }

  service(): Promise<ServiceInfo | undefined> {
    return this.store.conversation<ServiceInfo>(PLATFORM, SERVICE_KEY);
  }

  /**
   * Where to post in a channel: the stored reference, or one built from the service URL and
   * tenant of any activity (Teams accepts a channel id as a conversation id).
   */
  async channel(channelId: string): Promise<Reference | undefined> {
    const stored = await this.store.conversation<Reference>(PLATFORM, channelKey(channelId));
    if (stored) return stored;
    const service = await this.service();
    return service ? this.synthesize(service, channelId, 'channel') : undefined;
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
