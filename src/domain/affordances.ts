/**
 * What a surface may offer one viewer on one handoff, decided here once so that Slack, Teams, the
 * console and the API cannot drift apart: the viewer's roles, each user action with whether it is
 * allowed and, when not, the core's own refusal (naming who can), the buttons to draw, the reject
 * reasons, the reassign candidates, and the SLA's state. Builders render this; they decide nothing.
 * Pure: no I/O, no clock of its own (`now` is passed in), nothing platform-specific.
 *
 * Audiences:
 *  - a person (or an unknown viewer, or the integration): an action is allowed when the lifecycle
 *    allows it in this status (a first touch only once) AND the policy lets this viewer take it.
 *  - the channel: a card everyone in a team channel sees (Slack's shared card). An action is
 *    offered when the lifecycle allows it in this status for somebody; the click is then checked
 *    for whoever clicked, and refused with the same copy `reason` would give them.
 *
 * The reassign candidate rule (every platform, every picker): the active people of the receiving
 * team and the team's lead, plus the transition's queue members and its fallback owner — each only
 * if active — with the current owner left out, sorted by name. "Next in the queue" is offered when
 * the transition has a queue. The core still accepts any active person named through the API.
 *
 * The SLA state: `overdue` once the deadline has passed, `due_soon` when less than one hour (wall
 * clock) is left — one rule for every transition, readable without the business calendar — else
 * `on_track`; `none` when no deadline runs (closed, or the first touch is recorded).
 */
import type { Person, Team, Transition } from '../playbook/schema.js';
import type { BatonError } from '../errors.js';
import type { HandoffView } from './view.js';
import { AWAITING_ACCEPT, LIFECYCLE, decide, rolesAllow, type LastChange, type Role, type UserAction } from './lifecycle.js';
import type { Policy, PolicyDirectory, Viewer } from './policy.js';

/** A shared card everyone in a channel sees; see the module comment. */
export interface ChannelAudience {
  kind: 'channel';
}
export type Audience = Viewer | ChannelAudience;
export const CHANNEL: ChannelAudience = Object.freeze({ kind: 'channel' });

/** Every user action in the order cards show them (withdraw and snooze last: they live elsewhere). */
export const ACTION_ORDER: readonly UserAction[] = ['accept', 'reject', 'reassign', 'touch', 'complete', 'withdraw', 'snooze'];
/** The buttons of a handoff card. */
export const CARD_BUTTONS: readonly UserAction[] = ['accept', 'reject', 'reassign', 'touch', 'complete'];
/** The buttons of a reminder or an escalation sent to one person. */
export const REMINDER_BUTTONS: readonly UserAction[] = ['accept', 'reassign', 'snooze'];

export const ACTION_LABELS: Record<UserAction, string> = {
  accept: 'Accept',
  reject: 'Reject',
  reassign: 'Reassign',
  touch: 'Log first touch',
  complete: 'Complete',
  withdraw: 'Withdraw',
  snooze: 'Snooze',
};

export interface ActionAffordance {
  action: UserAction;
  label: string;
  /** The lifecycle allows it in this status (for somebody). */
  available: boolean;
  /** Available, and this audience may take it (the channel: available). */
  allowed: boolean;
  /** Why not, in the words the core uses when refusing the click. */
  reason?: string;
  /** Who said no: the policy (this viewer's roles; asked first, as the core does) or the lifecycle (the status). */
  refusedBy?: 'policy' | 'lifecycle';
}

export interface ReassignCandidate {
  id: string;
  name: string;
  teamName?: string | undefined;
}

/** The reassign pickers' "next person in the queue" choice, in the same words on every surface. */
export const QUEUE_CHOICE_LABEL = 'Next in the queue';

export type SlaState = 'none' | 'on_track' | 'due_soon' | 'overdue';
export interface SlaAffordance {
  kind: 'accept' | 'first_touch' | null;
  dueAt: string | null;
  state: SlaState;
}
export const DUE_SOON_MS = 60 * 60_000;

/** What a viewer can be to a handoff (the lifecycle's roles but the system's). */
export type ViewerRole = Exclude<Role, 'system'>;

export interface HandoffAffordances {
  viewer: {
    kind: Audience['kind'];
    person: { id: string; name: string; timeZone: string } | null;
    roles: ViewerRole[];
    /** For a viewer who may see nothing: what they are told (the policy's stranger copy); else null. */
    refusal: string | null;
  };
  actions: ActionAffordance[];
  /** The handoff card's buttons, in order. */
  offered: UserAction[];
  /** A reminder's or an escalation's buttons, in order. */
  offeredOnReminder: UserAction[];
  rejectReasons: { code: string; label: string }[];
  reassignCandidates: ReassignCandidate[];
  /** Whether "next in the queue" is a reassign choice. */
  queueOffered: boolean;
  /** How that choice reads in every picker (QUEUE_CHOICE_LABEL). */
  queueLabel: string;
  /** Who can take each action, by name ("Dana Kim (owner), Lee Park (their lead), a playbook admin"). */
  whoCanAct: Record<UserAction, string>;
  /** Ids of the people whose roles allow a card action (owner, their leads, admins): who gets a per-user card. */
  actorIds: string[];
  sla: SlaAffordance;
}

export type ViewerHandoffView = HandoffView & { affordances: HandoffAffordances };

/** What the affordances read of the playbook's directory (src/directory.ts's Directory). */
export interface AffordanceDirectory extends PolicyDirectory {
  readonly teams: ReadonlyMap<string, Pick<Team, 'name' | 'leadId'>>;
  readonly playbook: { readonly admins: readonly string[]; readonly people: readonly Person[] };
}

export interface AffordanceDeps {
  policy: Policy;
  directory: AffordanceDirectory;
  /** The handoff's transition; undefined when it left the playbook. */
  transition: Pick<Transition, 'rejectReasons' | 'routing' | 'fallbackOwnerId'> | undefined;
  now: Date;
  /** How a surface names the account it saw, for the stranger copy ("your Slack account (U123)"). */
  account?: string | undefined;
}

export function viewFor(view: HandoffView, audience: Audience, deps: AffordanceDeps): ViewerHandoffView {
  return { ...view, affordances: affordancesFor(view, audience, deps) };
}

export function affordancesFor(view: HandoffView, audience: Audience, deps: AffordanceDeps): HandoffAffordances {
  const { policy, transition } = deps;
  const roles = audience.kind === 'channel' ? [] : policy.rolesOf(audience, view).filter((r): r is ViewerRole => r !== 'system');
  const last = lastChangeOf(view);
  const whoCanAct = Object.fromEntries(ACTION_ORDER.map((a) => [a, policy.whoCanAct(view, a)])) as Record<UserAction, string>;
  const actions = ACTION_ORDER.map((action): ActionAffordance => {
    const statusRefusal = refusalOf(() =>
      decide({ status: view.status, version: view.version, action, actorRoles: LIFECYCLE[action].roles, whoCanAct: whoCanAct[action], lastChange: last, firstTouchRecorded: view.firstTouchAt !== null }),
    );
    const available = statusRefusal === undefined;
    const policyRefusal = audience.kind === 'channel' ? undefined : policy.refusal(audience, view, action)?.userMessage;
    const reason = policyRefusal ?? statusRefusal;
    if (reason === undefined) return { action, label: ACTION_LABELS[action], available, allowed: true };
    return { action, label: ACTION_LABELS[action], available, allowed: false, reason, refusedBy: policyRefusal !== undefined ? 'policy' : 'lifecycle' };
  });
  const allowed = (set: readonly UserAction[]) => actions.filter((a) => a.allowed && set.includes(a.action)).map((a) => a.action);
  const person = audience.kind === 'person' ? audience.person : undefined;
  return {
    viewer: {
      kind: audience.kind,
      person: person ? { id: person.id, name: person.name, timeZone: person.timeZone } : null,
      roles,
      refusal: audience.kind === 'channel' || policy.canView(audience, view) ? null : policy.strangerMessage(audience, deps.account ?? 'you'),
    },
    actions,
    offered: allowed(CARD_BUTTONS),
    offeredOnReminder: allowed(REMINDER_BUTTONS),
    rejectReasons: transition ? transition.rejectReasons.map((r) => ({ code: r.code, label: r.label })) : [],
    reassignCandidates: reassignCandidates(view, deps),
    queueOffered: Boolean(transition && transition.routing.queue.length > 0),
    queueLabel: QUEUE_CHOICE_LABEL,
    whoCanAct,
    actorIds: actorIds(view, deps),
    sla: slaOf(view, deps.now),
  };
}

/** The candidate rule of the module comment. */
export function reassignCandidates(view: Pick<HandoffView, 'owner' | 'teamId'>, deps: Pick<AffordanceDeps, 'directory' | 'transition'>): ReassignCandidate[] {
  const d = deps.directory;
  const t = deps.transition;
  const team = d.teams.get(view.teamId);
  const named = new Set<string>([...(team ? [team.leadId] : []), ...(t ? [...t.routing.queue.map((q) => q.personId), t.fallbackOwnerId] : [])]);
  return d.playbook.people
    .filter((p) => p.active && p.id !== view.owner.id && (p.teamId === view.teamId || named.has(p.id)))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
    .map((p) => ({ id: p.id, name: p.name, teamName: d.teams.get(p.teamId)?.name }));
}

export function slaOf(view: Pick<HandoffView, 'status' | 'slaDueAt'>, now: Date): SlaAffordance {
  const kind = view.slaDueAt === null ? null : AWAITING_ACCEPT.includes(view.status) ? 'accept' : view.status === 'accepted' ? 'first_touch' : null;
  if (kind === null || view.slaDueAt === null) return { kind: null, dueAt: null, state: 'none' };
  const left = new Date(view.slaDueAt).getTime() - now.getTime();
  return { kind, dueAt: view.slaDueAt, state: left < 0 ? 'overdue' : left < DUE_SOON_MS ? 'due_soon' : 'on_track' };
}

/** The owner, their leads and the admins — whoever of them the policy lets take a card action — once each. */
function actorIds(view: HandoffView, deps: AffordanceDeps): string[] {
  const d = deps.directory;
  const ids = new Set([view.owner.id, ...d.leadsOf(view.owner.id), ...d.playbook.admins]);
  return [...ids].filter((id) => CARD_BUTTONS.some((a) => rolesAllow(a, deps.policy.rolesOf(id, view))));
}

/** The change that produced the current version (annotations come after it), as the lifecycle reads it. */
function lastChangeOf(view: HandoffView): LastChange | null {
  const e = view.events?.find((x) => x.version === view.version);
  return e ? { action: e.type, by: e.actor ? { id: e.actor.id, name: e.actor.name } : null, at: new Date(e.at) } : null;
}

function refusalOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as BatonError).userMessage;
  }
}
