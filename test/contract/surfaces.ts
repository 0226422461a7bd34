/**
 * The adapter contract: what every surface (Slack, Teams, the console) must agree on, and the
 * driver each one implements to be asked. A driver speaks only its platform's wire format to the
 * running Baton — signed Slack requests and what the fake Slack Web API recorded, Bot Framework
 * activities and what the fake connector recorded, the console's JSON API behind its sign-in —
 * and reports what a person on that surface would see, in plain words (Slack's emoji prefixes,
 * mrkdwn escapes and date tokens undone), so the scenarios can compare surfaces directly.
 *
 * Like agenda's shared repository suite and inngest-js's testFramework: one suite, run over every
 * implementation (adapters.contract.test.ts).
 */
import type { ContractRig, ViewerRole } from './rig.js';

/** The handoff-card actions every surface offers in some form (withdraw and snooze live elsewhere). */
export const CARD_ACTIONS = ['accept', 'reject', 'reassign', 'touch', 'complete'] as const;
export type CardActionName = (typeof CARD_ACTIONS)[number];

export interface Offer {
  /**
   * 'viewer': the surface shows this viewer their own buttons (Teams' per-user refresh card, the
   * console's preview `?as=`). 'shared': everyone sees the same buttons (Slack's channel card),
   * so the per-viewer answer is given only when they click: an action the viewer may not take is
   * refused, with the core's copy. The scenarios check each kind by its own means.
   */
  scope: 'viewer' | 'shared';
  /** Card actions offered, in CARD_ACTIONS order. */
  actions: CardActionName[];
}

export interface Candidates {
  /** The "next in the queue" option (value `queue`), if the picker has one, and where it is. */
  queue: { label: string; index: number } | undefined;
  /** The people the picker offers, as playbook person ids, in the picker's order. */
  people: string[];
}

export interface ActArgs {
  /** The version on the card the person clicked (an older one makes a stale click). */
  version: number;
  reasonCode?: string;
  note?: string;
  /** Reassign target: a person id or `queue`. */
  to?: string;
}

export interface ActResult {
  outcome: 'applied' | 'refused' | 'conflict';
  /** What the person is told, in plain words ('' when the surface says nothing on success). */
  message: string;
  /** Everything the surface sent the person in answer, raw, for leak checks. */
  raw: string;
}

export interface Surface {
  name: 'slack' | 'teams' | 'console';
  offeredActions(handoffId: number, viewer: ViewerRole): Promise<Offer>;
  /** The reassign picker as `viewer` (someone who may reassign) gets it. */
  reassignCandidates(handoffId: number, viewer: ViewerRole): Promise<Candidates>;
  act(handoffId: number, viewer: ViewerRole, action: CardActionName, args: ActArgs): Promise<ActResult>;
}

export type SurfaceFactory = (rig: ContractRig) => Surface;

/** Slack's mrkdwn as read: `:emoji:` prefix gone, `&amp;`-escapes undone, `<!date^…|fallback>` as its fallback text. */
export function plainSlackText(text: string): string {
  return text
    .replace(/^:[a-z0-9_+-]+:\s*/, '')
    .replace(/<!date\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
