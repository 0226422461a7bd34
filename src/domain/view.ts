/**
 * The semantic view of a handoff that every surface renders: the HTTP API as JSON, Slack as
 * Block Kit, Teams as an Adaptive Card. No markup here — builders in blocks/ decide presentation.
 */
import type { HandoffStatus } from './lifecycle.js';

export interface PersonRef {
  id: string;
  name: string;
  email: string;
  slackUserId: string | null;
  teamsUserId: string | null;
  timeZone?: string;
}

export interface AccountRef {
  id: number;
  name: string;
  domain: string | null;
  crmId: string | null;
}

export interface HandoffEventView {
  id: string;
  version: number;
  type: string;
  actor: PersonRef | null;
  at: string;
  fromStatus: string | null;
  toStatus: string;
  owner: PersonRef | null;
  reasonCode: string | null;
  note: string | null;
  data: unknown;
}

export interface HandoffView {
  id: number;
  status: HandoffStatus;
  version: number;
  transition: string;
  transitionName: string;
  fromStage: string;
  toStage: string;
  teamId: string;
  account: AccountRef;
  from: PersonRef;
  owner: PersonRef;
  routingReason: string;
  /** The deadline that matters now: accept while awaiting acceptance, first touch after, else null. */
  slaDueAt: string | null;
  slaAcceptDueAt: string | null;
  slaFirstTouchDueAt: string | null;
  escalationLevel: number;
  packet: Record<string, unknown>;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
  acceptedAt: string | null;
  firstTouchAt: string | null;
  closedAt: string | null;
  events?: HandoffEventView[];
}
