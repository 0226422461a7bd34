/**
 * Who may see a handoff and who may act on it, decided here once. Every surface (Slack, Teams, the
 * console, the HTTP API) asks this module; none decides for itself, so they cannot drift apart.
 * Pure: no I/O, nothing platform-specific. The playbook's directory is passed in.
 *
 * The rule:
 *  - An active playbook person sees every handoff (teams work in shared channels, a lead covers for
 *    an owner, a sender follows up) and may act as the lifecycle table allows for their roles.
 *  - Anyone else — no person, an inactive person, a member of another Slack workspace — sees
 *    nothing: not the packet, the account, the notes, nor whether the handoff exists. They are told
 *    they are not in Baton's directory and which admins can add them.
 *  - The HTTP API's bearer token is an integration: it sees everything and is no actor; the actor
 *    an API call names is checked as a person.
 */
import type { Person } from '../playbook/schema.js';
import type { ForbiddenError } from '../errors.js';
import { forbidden, rolesAllow, type HandoffAction, type Role } from './lifecycle.js';

/** What the policy reads of the playbook's directory (src/directory.ts's Directory). */
export interface PolicyDirectory {
  readonly byId: ReadonlyMap<string, Person>;
  readonly playbook: { readonly admins: readonly string[] };
  leadsOf(personId: string): Set<string>;
  isAdmin(personId: string): boolean;
}

/** Why a viewer is unknown; shapes the copy, never the outcome (all see nothing). */
export type UnknownReason = 'not_in_directory' | 'inactive' | 'foreign_workspace';

export type Viewer =
  | { kind: 'person'; person: Person }
  | { kind: 'unknown'; reason: UnknownReason; person?: Person; workspace?: string }
  | { kind: 'integration' };

/** The API's bearer token: a system integration (CRM, scripts), trusted with every handoff. */
export const INTEGRATION: Viewer = Object.freeze({ kind: 'integration' });

/** The two parties the rule looks at; a HandoffView and a stored handoff row both have them. */
export interface HandoffParties {
  owner: { id: string; name: string };
  from: { id: string; name: string };
}

/** Where a platform request came from: the workspace ids it carries and the one Baton serves. */
export interface Origin {
  /** e.g. a Slack payload's `team.id` and `user.team_id`; absent ids are ignored. */
  workspaceIds: readonly (string | null | undefined)[];
  servedWorkspaceId: string;
}

/** True when a request names a workspace other than the one Baton serves (a Slack Connect guest). */
export function isForeign(origin: Origin | undefined): boolean {
  return Boolean(origin?.workspaceIds.some((id) => typeof id === 'string' && id !== '' && id !== origin.servedWorkspaceId));
}

/** The viewer behind a person lookup (undefined: nobody in the playbook). */
export function viewerOf(person: Person | undefined, origin?: Origin): Viewer {
  if (isForeign(origin)) {
    const workspace = origin!.workspaceIds.find((id) => typeof id === 'string' && id !== '' && id !== origin!.servedWorkspaceId) ?? undefined;
    return { kind: 'unknown', reason: 'foreign_workspace', ...(workspace ? { workspace } : {}) };
  }
  if (!person) return { kind: 'unknown', reason: 'not_in_directory' };
  // A person removed or paused in the playbook keeps their platform ids for a while; they must not
  // keep reading customer packets through them.
  if (!person.active) return { kind: 'unknown', reason: 'inactive', person };
  return { kind: 'person', person };
}

/**
 * Resolves a viewer, asking `lookup` for the person only when the origin is ours: a foreign
 * workspace's member is never looked up (their profile email could name one of our people).
 */
export async function resolveViewer(lookup: () => Promise<Person | undefined>, origin?: Origin): Promise<Viewer> {
  if (isForeign(origin)) return viewerOf(undefined, origin);
  return viewerOf(await lookup(), origin);
}

export class Policy {
  constructor(private readonly directory: PolicyDirectory) {}

  /**
   * Whether `viewer` may see this handoff at all. Answered without the handoff's contents for
   * everyone but persons and the integration, so a refusal can be given before it is read (and
   * says nothing about whether it exists). `_handoff` is there for rules that will look at it.
   */
  canView(viewer: Viewer, _handoff?: HandoffParties): boolean {
    return viewer.kind === 'person' || viewer.kind === 'integration';
  }

  /** What the viewer is to this handoff; empty for anyone but an active person. */
  rolesOf(viewer: Viewer | string, h: HandoffParties): Role[] {
    const id = typeof viewer === 'string' ? viewer : viewer.kind === 'person' ? viewer.person.id : undefined;
    if (id === undefined) return [];
    const d = this.directory;
    const roles: Role[] = [];
    if (id === h.owner.id) roles.push('owner');
    if (d.leadsOf(h.owner.id).has(id)) roles.push('owner_lead');
    if (id === h.from.id) roles.push('sender');
    if (d.leadsOf(h.from.id).has(id)) roles.push('sender_lead');
    if (d.isAdmin(id)) roles.push('admin');
    return roles;
  }

  /** Whether the viewer's roles let them take `action` (the lifecycle still checks the status). */
  mayAct(viewer: Viewer, h: HandoffParties, action: HandoffAction): boolean {
    return this.canView(viewer, h) && rolesAllow(action, this.rolesOf(viewer, h));
  }

  /** Why `viewer` may not take `action` (undefined when they may): the core's own refusal, naming who can. */
  refusal(viewer: Viewer, h: HandoffParties, action: HandoffAction): ForbiddenError | undefined {
    return this.mayAct(viewer, h, action) ? undefined : forbidden(action, this.whoCanAct(h, action));
  }

  /** Who can take `action`, by name, for refusals: "Dana Kim (owner), Lee Park (their lead), a playbook admin". */
  whoCanAct(h: HandoffParties, action: HandoffAction = 'accept'): string {
    const d = this.directory;
    const party = action === 'withdraw' ? { ...h.from, role: 'sender' } : { ...h.owner, role: 'owner' };
    const leads = [...d.leadsOf(party.id)].map((id) => `${d.byId.get(id)?.name ?? id} (their lead)`);
    return [`${party.name} (${party.role})`, ...leads, 'a playbook admin'].join(', ');
  }

  /** The active playbook admins, by name and email: who can add someone to the directory. */
  whoCanHelp(): string {
    const admins = this.directory.playbook.admins.map((id) => this.directory.byId.get(id)).filter((p): p is Person => Boolean(p?.active));
    if (!admins.length) return 'whoever maintains Baton\'s playbook';
    return admins.map((p) => `${p.name} (${p.email})`).join(' or ');
  }

  /**
   * What an unknown viewer is told, on every surface: that they are not in the directory and who
   * can help. `account` is how the surface names the account it saw ("your Slack account (U123)").
   * Nothing about any handoff is in it.
   */
  strangerMessage(viewer: Viewer, account: string): string {
    const why =
      viewer.kind === 'unknown' && viewer.reason === 'foreign_workspace'
        ? `Baton doesn't know ${account}: it is from another workspace${viewer.workspace ? ` (${viewer.workspace})` : ''}, and Baton serves only its own.`
        : viewer.kind === 'unknown' && viewer.reason === 'inactive'
          ? `Baton doesn't know ${account} any more: ${viewer.person?.name ?? 'this person'} is marked inactive in the playbook.`
          : `Baton doesn't know ${account}.`;
    return `${why} You're not in the Baton playbook, so Baton shows you no handoffs and you can't act on them. To be added, ask a playbook admin: ${this.whoCanHelp()}.`;
  }
}
