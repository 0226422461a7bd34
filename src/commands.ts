/**
 * The text commands both platforms offer (`/handoff owner acme` in Slack, `owner acme` to the
 * Teams bot). Parsing and answering live here, once; adapters only render the semantic result,
 * so the two platforms cannot drift apart.
 */
import type { HandoffService } from './handoffs.js';
import type { AccountRef, HandoffView, PersonRef } from './domain/view.js';
import { AWAITING_ACCEPT, OPEN_STATUSES } from './domain/lifecycle.js';
import { BatonError, InvalidError, NotFoundError } from './errors.js';
import type { Person } from './playbook/schema.js';
import type { KpiReport } from './reports/kpis.js';
import type { AccountTimeline } from './reports/timeline.js';
import type { DigestView } from './reports/digest.js';
import { viewerOf } from './domain/policy.js';
import { assertMaySeeHandoffs, viewHandoff } from './access.js';

export type Command =
  | { kind: 'help'; unknown?: string }
  | { kind: 'owner'; query: string }
  | { kind: 'mine' }
  | { kind: 'team'; lead?: string }
  | { kind: 'show'; id: number }
  | { kind: 'timeline'; query: string }
  | { kind: 'stats'; days: number; team?: string }
  | { kind: 'digest'; action: 'subscribe' | 'unsubscribe' | 'now' | 'status' };

/**
 * Reports the commands need (KPIs, timelines, digests), provided by the app; a platform that
 * runs without them answers those commands with an error instead of failing.
 */
export interface CommandReports {
  kpis(filter: { from: Date; to: Date; team?: string | undefined }): Promise<KpiReport>;
  timeline(accountKey: string): Promise<AccountTimeline>;
  digestPreview(person: Person, now: Date): Promise<DigestView>;
  setDigestSubscription(personId: string, subscribed: boolean): Promise<{ subscribed: boolean; nextAt: Date | null }>;
  digestStatus(personId: string, now: Date): Promise<{ subscribed: boolean; nextAt: Date | null }>;
}

export interface CommandHelp {
  usage: string;
  description: string;
}

/** The command list, shown by `help` and in the Teams manifest's command suggestions. */
export const COMMAND_HELP: CommandHelp[] = [
  { usage: 'owner <account name | domain | CRM id>', description: 'Who owns the account at each stage, and its open handoffs' },
  { usage: 'mine', description: 'Your open handoffs, most urgent first' },
  { usage: 'team [@lead]', description: "Your team's open and breached handoffs, oldest first" },
  { usage: 'show <id>', description: "One handoff's packet and timeline" },
  { usage: 'timeline <account>', description: "The account's chain of custody across every handoff" },
  { usage: 'stats [7d|30d|90d] [team]', description: 'Handoff KPIs for a period' },
  { usage: 'digest subscribe|unsubscribe|now', description: 'The weekly breach digest: subscribe, stop, or get a preview now' },
  { usage: 'help', description: 'This list' },
];

/** Parses the text after the command name. Mentions arrive as platform ids, e.g. `<@U123|dana>`. */
export function parseCommand(text: string): Command {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  if (!trimmed) return { kind: 'help' };
  const [head = '', ...rest] = trimmed.split(' ');
  const arg = rest.join(' ').trim();
  switch (head.toLowerCase()) {
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'owner':
    case 'owners':
    case 'who':
      return arg ? { kind: 'owner', query: arg } : { kind: 'help', unknown: 'owner needs an account: try `owner acme.com`' };
    case 'mine':
    case 'my':
      return { kind: 'mine' };
    case 'team':
      return arg ? { kind: 'team', lead: arg } : { kind: 'team' };
    case 'show': {
      const id = Number(arg.replace(/^#/, ''));
      return Number.isSafeInteger(id) && id > 0 ? { kind: 'show', id } : { kind: 'help', unknown: 'show needs a handoff number: try `show 42`' };
    }
    case 'timeline':
    case 'history':
      return arg ? { kind: 'timeline', query: arg } : { kind: 'help', unknown: 'timeline needs an account: try `timeline acme.com`' };
    case 'stats':
    case 'kpis': {
      let days = 7;
      let team: string | undefined;
      for (const part of rest) {
        const m = /^(\d{1,3})d$/i.exec(part);
        if (m) days = Number(m[1]);
        else team = part;
      }
      if (![7, 30, 90].includes(days)) return { kind: 'help', unknown: 'stats periods are 7d, 30d or 90d' };
      return team ? { kind: 'stats', days, team } : { kind: 'stats', days };
    }
    case 'digest': {
      const action = (rest[0] ?? 'status').toLowerCase();
      if (action === 'subscribe' || action === 'unsubscribe' || action === 'now' || action === 'status') return { kind: 'digest', action };
      return { kind: 'help', unknown: 'digest takes subscribe, unsubscribe or now' };
    }
    default:
      return { kind: 'help', unknown: `I don't know "${head}".` };
  }
}

export type CommandResult =
  | { kind: 'help'; problem?: string; commands: CommandHelp[] }
  | { kind: 'pick_account'; query: string; accounts: AccountRef[] }
  | { kind: 'owner'; account: AccountRef; owners: { stage: string; stageName: string; owner: PersonRef; since: string }[]; open: HandoffView[] }
  | { kind: 'list'; title: string; empty: string; handoffs: HandoffView[]; breachedIds: number[] }
  | { kind: 'show'; handoff: HandoffView }
  | { kind: 'timeline'; timeline: AccountTimeline }
  | { kind: 'stats'; title: string; report: KpiReport }
  | { kind: 'digest_preview'; digest: DigestView }
  | { kind: 'digest_subscription'; subscribed: boolean; nextAt: string | null; changed: boolean }
  | { kind: 'error'; message: string };

/**
 * Answers a command for `actor` (already mapped to a playbook person by the adapter).
 * Domain errors become `{ kind: 'error' }` with their user message; anything else propagates.
 */
export async function runCommand(service: HandoffService, actor: Person, cmd: Command, now: Date, reports?: CommandReports): Promise<CommandResult> {
  try {
    // Adapters refuse strangers first; this holds the line for a person the playbook has since
    // made inactive (every command shows handoffs, accounts or KPIs).
    const viewer = viewerOf(actor);
    assertMaySeeHandoffs(service, viewer, 'your account');
    if ((cmd.kind === 'timeline' || cmd.kind === 'stats' || cmd.kind === 'digest') && !reports) {
      return { kind: 'error', message: 'Reports are not available on this Baton.' };
    }
    switch (cmd.kind) {
      case 'help':
        return { kind: 'help', ...(cmd.unknown ? { problem: cmd.unknown } : {}), commands: COMMAND_HELP };
      case 'owner': {
        const accounts = await service.findAccounts(cmd.query);
        if (accounts.length === 0) return { kind: 'error', message: `No account matches "${cmd.query}". Try its domain or CRM id.` };
        if (accounts.length > 1) return { kind: 'pick_account', query: cmd.query, accounts: accounts.slice(0, 10) };
        const r = await service.accountOwners(String(accounts[0]!.crmId ?? accounts[0]!.domain ?? accounts[0]!.id));
        return { kind: 'owner', account: r.account, owners: r.owners, open: r.openHandoffs };
      }
      case 'mine': {
        const { handoffs } = await service.list({ owner: actor.id, status: OPEN_STATUSES.join(','), limit: 50 });
        handoffs.sort(byDeadline);
        return { kind: 'list', title: 'Your open handoffs', empty: 'You have no open handoffs. 🎉', handoffs, breachedIds: breached(handoffs, now) };
      }
      case 'team': {
        const lead = cmd.lead ? service.directory.find(stripMention(cmd.lead)) : actor;
        if (!lead) return { kind: 'error', message: `I can't find "${cmd.lead}" in the playbook.` };
        const teams = service.playbook.teams.filter((t) => t.leadId === lead.id || t.headId === lead.id);
        const teamIds = teams.length ? teams.map((t) => t.id) : [lead.teamId];
        const all: HandoffView[] = [];
        for (const team of teamIds) all.push(...(await service.list({ team, status: OPEN_STATUSES.join(','), limit: 200 })).handoffs);
        all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        const names = teamIds.map((id) => service.directory.teams.get(id)?.name ?? id).join(', ');
        return { kind: 'list', title: `Open handoffs for ${names}`, empty: `${names} has no open handoffs.`, handoffs: all, breachedIds: breached(all, now) };
      }
      case 'show':
        return { kind: 'show', handoff: await viewHandoff(service, viewer, cmd.id) };
      case 'timeline':
        return { kind: 'timeline', timeline: await reports!.timeline(cmd.query) };
      case 'stats': {
        let team: string | undefined;
        if (cmd.team) {
          const wanted = stripMention(cmd.team).toLowerCase();
          const match = service.playbook.teams.find((t) => t.id === wanted || t.name.toLowerCase() === wanted);
          if (!match) return { kind: 'error', message: `There is no team "${cmd.team}". Teams: ${service.playbook.teams.map((t) => t.id).join(', ')}.` };
          team = match.id;
        }
        const report = await reports!.kpis({ from: new Date(now.getTime() - cmd.days * 86_400_000), to: now, team });
        const scope = team ? service.directory.teams.get(team)?.name ?? team : 'all teams';
        return { kind: 'stats', title: `Handoff KPIs, last ${cmd.days} days, ${scope}`, report };
      }
      case 'digest': {
        if (cmd.action === 'now') return { kind: 'digest_preview', digest: await reports!.digestPreview(actor, now) };
        if (cmd.action === 'status') {
          const s = await reports!.digestStatus(actor.id, now);
          return { kind: 'digest_subscription', subscribed: s.subscribed, nextAt: s.nextAt?.toISOString() ?? null, changed: false };
        }
        const s = await reports!.setDigestSubscription(actor.id, cmd.action === 'subscribe');
        return { kind: 'digest_subscription', subscribed: s.subscribed, nextAt: s.nextAt?.toISOString() ?? null, changed: true };
      }
    }
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof InvalidError) return { kind: 'error', message: err.userMessage };
    if (err instanceof BatonError && err.httpStatus < 500) return { kind: 'error', message: err.userMessage };
    throw err;
  }
}

/** Accepts `<@U123>`, `<@U123|dana>`, `@dana.kim` or a plain id/email. */
export function stripMention(s: string): string {
  const slack = /^<@([A-Z0-9]+)(\|[^>]*)?>$/.exec(s.trim());
  if (slack) return slack[1]!;
  return s.trim().replace(/^@/, '');
}

function byDeadline(a: HandoffView, b: HandoffView): number {
  return (a.slaDueAt ?? '9999').localeCompare(b.slaDueAt ?? '9999');
}

/** Handoffs whose current SLA deadline has passed, or that were escalated. */
export function breached(handoffs: HandoffView[], now: Date): number[] {
  return handoffs
    .filter((h) => h.status === 'escalated' || (h.slaDueAt !== null && new Date(h.slaDueAt) < now && (AWAITING_ACCEPT.includes(h.status) || h.status === 'accepted')))
    .map((h) => h.id);
}
