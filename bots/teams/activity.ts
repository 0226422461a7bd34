/**
 * What Baton reads of a Teams activity's channelData. Its own module because both the tenant gate
 * (./tenants.ts) and the conversation book (./conversations.ts) read it, and the book depends on
 * the gate: kept in either, the two would import each other.
 */
import type { TurnContext } from 'botbuilder';

interface TeamsChannelData {
  channel?: { id?: string };
  team?: { id?: string };
  tenant?: { id?: string };
}

export function channelDataOf(context: TurnContext): TeamsChannelData {
  const d: unknown = context.activity.channelData;
  return typeof d === 'object' && d !== null ? (d as TeamsChannelData) : {};
}

/** Teams puts the tenant in channelData; conversation.tenantId is the older place for it. */
export function tenantOf(context: TurnContext): string | undefined {
  const id = channelDataOf(context).tenant?.id ?? context.activity.conversation?.tenantId;
  return typeof id === 'string' && id ? id : undefined;
}
