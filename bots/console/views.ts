/**
 * What the console shows for a handoff, built by the same code the bots use: the Slack card from
 * blocks/slack with the Slack adapter's card context, the Teams card from blocks/teams with the
 * Teams adapter's per-viewer context (so the buttons are the ones this person would get), the
 * packet, the audit trail, and the pending SLA timers from the jobs port.
 */
import type { CoreContext } from '../../src/app.js';
import type { HandoffView } from '../../src/domain/view.js';
import type { UserAction } from '../../src/domain/lifecycle.js';
import type { Person } from '../../src/playbook/schema.js';
import type { SlackMessage } from '../../blocks/slack/card.js';
import type { AdaptiveCard } from '../../blocks/teams/card.js';
import { channelCard } from '../slack/render.js';
import { TeamsViews } from '../teams/views.js';
import { teamsUserIdOf } from '../teams/identity.js';
import { ServedTenants } from '../teams/tenants.js';
import { ConversationBook } from '../teams/conversations.js';
import { slackMessageHtml } from './slackHtml.js';
import type { Viewer } from '../../src/domain/policy.js';
import { viewHandoffFor } from '../../src/access.js';
import type { HandoffAffordances, ReassignCandidate, ViewerRole } from '../../src/domain/affordances.js';
import { STATUS_LABEL } from '../../blocks/statusText.js';
import { packetEntries } from '../../blocks/packetText.js';
import { parseStepId } from '../../src/sla/plan.js';
import type { HandoffEventView } from '../../src/domain/view.js';

export interface HandoffSummary {
  id: number;
  status: HandoffView['status'];
  /** The status in words, as the Teams card says it ("Reassigned, awaiting acceptance"). */
  statusLabel: string;
  version: number;
  transition: string;
  transitionName: string;
  account: string;
  owner: { id: string; name: string };
  from: { id: string; name: string };
  slaDueAt: string | null;
  escalationLevel: number;
  createdAt: string;
  updatedAt: string;
  demo: boolean;
}

export interface TimerView {
  name: string;
  key: string;
  /** What the timer will do, in words: "nudge at 80 % of the accept SLA". */
  label: string;
  step: string | null;
  kind: string | null;
  runAt: string | null;
  lockedAt: string | null;
  failCount: number;
}

/** An audit event in words, for the console's timeline (the raw event stays in `view.events`). */
export interface TimelineEntry {
  at: string;
  /** "accepted", "SLA breached", "first touch logged". */
  what: string;
  /** The person, or "Baton" for the system's own steps. */
  by: string;
  /** "Awaiting acceptance → Accepted · owner Priya Nair · reason: Meeting not confirmed". */
  detail: string;
  note: string | null;
  /** The event type, for styling only. */
  type: string;
}

export interface HandoffDetail {
  view: HandoffView;
  /** The status in words. */
  statusLabel: string;
  /** The packet as the cards read it (blocks/packetText.ts): the playbook's labels, in its order. */
  packet: { key: string; label: string; text: string }[];
  /** The audit trail in words, oldest first. */
  timeline: TimelineEntry[];
  demo: boolean;
  slack: { html: string; message: SlackMessage };
  teams: { mode: 'summary' | 'details'; card: AdaptiveCard };
  /** null when the jobs port is not available to the console. */
  timers: TimerView[] | null;
  /** The actions the previewed person may take now (the buttons Teams would give them), in card order. */
  actions: UserAction[];
  /** The ones the status allows but this person may not take, with the core's reason (shown disabled). */
  unavailable: { action: UserAction; label: string; reason: string }[];
  /** The reassign picker's "next in the queue" choice, when offered. */
  queueChoice: { label: string } | null;
  /** What the viewer is to this handoff; empty for everyone else. */
  roles: ViewerRole[];
  viewer: { id: string; name: string; timeZone: string } | null;
  rejectReasons: { code: string; label: string }[];
  reassignTo: ReassignCandidate[];
  /** Everything the core decided for this viewer (src/domain/affordances.ts), which the fields above are read from. */
  affordances: HandoffAffordances;
  now: string;
}

export class ConsoleViews {
  private readonly teams: TeamsViews;

  constructor(
    private readonly core: Pick<CoreContext, 'service' | 'platformStore' | 'clock' | 'log' | 'config' | 'jobs'>,
    private readonly demoIds: ReadonlySet<number>,
  ) {
    const { service, platformStore, config } = core;
    // Only whose Teams ids the cards' refresh lists: no identity look-ups from the console.
    const book = new ConversationBook(platformStore, config.teams?.appId ?? 'baton-console', new ServedTenants(config.teams?.tenants ?? []));
    this.teams = new TeamsViews(service, { teamsUserIdOf: (personId) => teamsUserIdOf(service.directory, book, personId) }, core.clock);
  }

  summary(v: HandoffView): HandoffSummary {
    return {
      id: v.id,
      status: v.status,
      statusLabel: statusLabel(v.status),
      version: v.version,
      transition: v.transition,
      transitionName: v.transitionName,
      account: v.account.name,
      owner: { id: v.owner.id, name: v.owner.name },
      from: { id: v.from.id, name: v.from.name },
      slaDueAt: v.slaDueAt,
      escalationLevel: v.escalationLevel,
      createdAt: v.createdAt,
      updatedAt: v.updatedAt,
      demo: this.demoIds.has(v.id),
    };
  }

  /**
   * One handoff as `who` may see it: the operator (an integration: everything, read-only cards) or
   * a person previewed with `?as=` (their buttons, their roles). The policy is asked first, so an
   * unknown or inactive person gets what they would get on Slack or Teams: nothing but who can help.
   */
  async detail(id: number, who: Viewer, mode: 'summary' | 'details' = 'summary', account?: string): Promise<HandoffDetail> {
    const { service, clock } = this.core;
    const now = clock.now();
    const view = await viewHandoffFor(service, who, id, now, account ? { account } : undefined);
    const viewer: Person | undefined = who.kind === 'person' ? who.person : undefined;
    const dir = service.directory;
    const slack = channelCard(service, view, now);
    const html = slackMessageHtml(slack, {
      userName: (slackId) => dir.find(slackId)?.name,
      channelName: (channelId) => service.playbook.teams.find((t) => t.channels.slack === channelId)?.name,
    });
    const card = mode === 'details' ? await this.teams.details(view, viewer) : await this.teams.summary(view, viewer);
    const a = view.affordances;
    const { affordances: _, ...plain } = view;
    return {
      view: plain,
      statusLabel: statusLabel(view.status),
      packet: packetEntries(view, service.transition(view.transition)).map((e) => ({ key: e.key, label: e.label, text: e.text })),
      timeline: (view.events ?? []).map((e) => timelineEntry(e, a.rejectReasons)),
      demo: this.demoIds.has(id),
      slack: { html, message: slack },
      teams: { mode, card },
      timers: await this.timers(id),
      actions: a.actions.filter((x) => x.allowed).map((x) => x.action),
      unavailable: a.actions.filter((x) => x.available && !x.allowed).map((x) => ({ action: x.action, label: x.label, reason: x.reason ?? '' })),
      queueChoice: a.queueOffered ? { label: a.queueLabel } : null,
      roles: a.viewer.roles,
      viewer: a.viewer.person,
      rejectReasons: a.rejectReasons,
      reassignTo: a.reassignCandidates,
      affordances: a,
      now: now.toISOString(),
    };
  }

  private async timers(handoffId: number): Promise<TimerView[] | null> {
    const jobs = this.core.jobs;
    if (!jobs) return null;
    const pending = await jobs.list({ match: { handoffId } });
    return pending.map((j) => ({
      name: j.name,
      key: j.key,
      label: timerLabel(j.name, typeof j.data.step === 'string' ? j.data.step : null),
      step: typeof j.data.step === 'string' ? j.data.step : null,
      kind: typeof j.data.kind === 'string' ? j.data.kind : null,
      runAt: j.runAt ? j.runAt.toISOString() : null,
      lockedAt: j.lockedAt ? j.lockedAt.toISOString() : null,
      failCount: j.failCount,
    }));
  }
}

// -------------------------------------------------------------------------------------------------
// Words for what the core stores as ids and enum values. Here, beside the data, so the page shows
// labels and never has its own copy of the core's vocabulary.

export function statusLabel(status: string): string {
  const known = (STATUS_LABEL as Record<string, string>)[status];
  if (known) return known;
  const words = status.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const SLA_NAME = { accept: 'the accept SLA', first_touch: 'the first-touch SLA' } as const;

/** "nudge at 80 % of the accept SLA", "the accept SLA breached: escalation step 1", … */
export function timerLabel(jobName: string, step: string | null): string {
  const parsed = step ? parseStepId(step) : undefined;
  if (!parsed) return step ?? jobName.replace(/[._]/g, ' ');
  const sla = SLA_NAME[parsed.kind];
  const s = parsed.step;
  if (s.type === 'nudge') return `nudge at ${Math.round(s.point * 100)} % of ${sla}`;
  if (s.type === 'escalate') return s.level === 1 ? `${sla} breached: escalation step 1` : `escalation step ${s.level} (${sla} still missed)`;
  return `reassign to the next in the queue (${sla} missed)`;
}

const EVENT_WHAT: Record<string, string> = {
  touched: 'first touch logged',
  sla_breach: 'SLA breached',
  nudged: 'nudged',
  snoozed: 'reminders snoozed',
};

function record(data: unknown): Record<string, unknown> {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

export function timelineEntry(e: HandoffEventView, rejectReasons: readonly { code: string; label: string }[]): TimelineEntry {
  const data = record(e.data);
  const bits: string[] = [];
  if (e.fromStatus && e.toStatus && e.fromStatus !== e.toStatus) bits.push(`${statusLabel(e.fromStatus)} → ${statusLabel(e.toStatus)}`);
  if (e.owner && (e.type === 'reassigned' || e.type === 'routed')) bits.push(`owner ${e.owner.name}`);
  if (e.reasonCode) {
    const reason = rejectReasons.find((r) => r.code === e.reasonCode)?.label ?? (e.reasonCode === '1h' ? 'for 1 hour' : e.reasonCode.replace(/_/g, ' '));
    bits.push(e.type === 'snoozed' ? reason : `reason: ${reason}`);
  }
  if (typeof data.reason === 'string') bits.push(data.reason);
  if (typeof data.step === 'string') bits.push(timerLabel('sla.timer', data.step));
  const told = record(data.escalatedTo);
  if (typeof told.name === 'string') bits.push(`told ${told.name}`);
  if (typeof data.platform === 'string') bits.push(`on ${data.platform === 'slack' ? 'Slack' : data.platform === 'teams' ? 'Microsoft Teams' : data.platform}`);
  return {
    at: e.at,
    what: EVENT_WHAT[e.type] ?? e.type.replace(/_/g, ' '),
    by: e.actor ? e.actor.name : 'Baton',
    detail: bits.join(' · '),
    note: e.note,
    type: e.type,
  };
}
