/**
 * `/handoff …` replies: renders the semantic CommandResult of src/commands.ts as an ephemeral
 * Block Kit message. The command logic lives in the core; this only presents it.
 */
import type { KnownBlock } from '@slack/types';
import type { CommandResult } from '../../src/commands.js';
import type { HandoffView } from '../../src/domain/view.js';
import type { Transition } from '../../src/playbook/schema.js';
import { LIMITS, escapeMrkdwn, plain, safeMrkdwn, truncate } from './limits.js';
import { STATUS_EMOJI, countdown, personText, slackDate } from './format.js';
import { STATUS_LABEL } from '../statusText.js';
import { detailBlocks } from './modals.js';
import type { SlackMessage } from './card.js';
import type { DigestView } from '../../src/reports/digest.js';
import { digestLines, kpiLines, pct, reviewSections, secs, timelineLines, type ReportLine } from '../reportText.js';
import type { MonthlyReview } from '../../src/reports/review.js';

export const SLASH_COMMAND = '/handoff';

export interface CommandReplyContext {
  now: Date;
  /** For `show`: labels and types of the handoff's packet fields. */
  transitionOf?: (id: string) => Pick<Transition, 'packet' | 'rejectReasons'> | undefined;
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) } };
}

/** "#12 · Marketing → SDR · Acme · @owner · Awaiting acceptance · due in 2h". */
export function handoffLine(h: HandoffView, now: Date, breached: boolean): string {
  const sla = h.slaDueAt ? ` · ${h.status === 'accepted' ? 'first touch' : 'accept'} due ${slackDate(h.slaDueAt, '{date_short} {time}')} (${countdown(h.slaDueAt, now)})` : '';
  return `${breached ? ':warning: ' : ''}*#${h.id}* · ${safeMrkdwn(h.transitionName, 100)} · ${safeMrkdwn(h.account.name, 200)} · ${personText(h.owner)} · ${STATUS_EMOJI[h.status]} ${STATUS_LABEL[h.status]}${sla}`;
}

/** Lines packed into as few sections as fit, within `maxBlocks`; the rest are counted. */
export function linesToBlocks(lines: string[], maxBlocks: number): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  let current = '';
  let used = 0;
  for (const raw of lines) {
    const line = truncate(raw, LIMITS.sectionText);
    if (current && current.length + 1 + line.length > LIMITS.sectionText) {
      if (blocks.length + 2 > maxBlocks) break;
      blocks.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
    used++;
  }
  if (current) blocks.push(section(current));
  if (used < lines.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${lines.length - used} more.` }] });
  return blocks;
}

export function buildCommandReply(result: CommandResult, ctx: CommandReplyContext): SlackMessage {
  switch (result.kind) {
    case 'help': {
      const lines = result.commands.map((c) => `\`${SLASH_COMMAND} ${escapeMrkdwn(c.usage)}\` — ${escapeMrkdwn(c.description)}`);
      const blocks: KnownBlock[] = [];
      if (result.problem) blocks.push(section(`:thinking_face: ${escapeMrkdwn(result.problem)}`));
      blocks.push(section(`*Baton commands*\n${lines.join('\n')}`));
      return { text: truncate(`${result.problem ? escapeMrkdwn(result.problem) + ' ' : ''}Baton commands: ${result.commands.map((c) => escapeMrkdwn(c.usage)).join(', ')}`, LIMITS.messageText), blocks };
    }
    case 'pick_account': {
      const lines = result.accounts.map((a) => {
        const key = a.crmId ?? a.domain ?? String(a.id);
        return `• *${safeMrkdwn(a.name, 200)}*${a.domain ? ` · ${escapeMrkdwn(a.domain)}` : ''}${a.crmId ? ` · CRM ${escapeMrkdwn(a.crmId)}` : ''} → \`${SLASH_COMMAND} owner ${safeMrkdwn(key, 200)}\``;
      });
      return {
        text: truncate(`"${escapeMrkdwn(result.query)}" matches ${result.accounts.length} accounts; pick one`, LIMITS.messageText),
        blocks: [section(`"${safeMrkdwn(result.query, 200)}" matches ${result.accounts.length} accounts. Which one did you mean?`), ...linesToBlocks(lines, LIMITS.messageBlocks - 1)],
      };
    }
    case 'owner': {
      const a = result.account;
      const head = `*${safeMrkdwn(a.name, 200)}*${a.domain ? ` · ${escapeMrkdwn(a.domain)}` : ''}${a.crmId ? ` · CRM ${escapeMrkdwn(a.crmId)}` : ''}`;
      const owners = result.owners.length
        ? result.owners.map((o) => `• *${safeMrkdwn(o.stageName, 100)}*: ${personText(o.owner)} since ${slackDate(o.since, '{date_short}')}`)
        : ['• Nobody has accepted a handoff for this account yet.'];
      const breached = new Set(result.open.filter((h) => h.status === 'escalated' || (h.slaDueAt !== null && new Date(h.slaDueAt) < ctx.now)).map((h) => h.id));
      const open = result.open.map((h) => handoffLine(h, ctx.now, breached.has(h.id)));
      const blocks: KnownBlock[] = [
        { type: 'header', text: plain(`Who owns ${a.name}`, LIMITS.headerText) },
        section(`${head}\n${owners.join('\n')}`),
        section(open.length ? `*Open handoffs (${open.length})*` : '*No open handoffs.*'),
      ];
      blocks.push(...linesToBlocks(open, LIMITS.messageBlocks - blocks.length));
      return { text: truncate(`Owners of ${escapeMrkdwn(a.name)}`, LIMITS.messageText), blocks };
    }
    case 'list': {
      const breached = new Set(result.breachedIds);
      const blocks: KnownBlock[] = [section(`*${safeMrkdwn(result.title, 200)}*${result.handoffs.length ? ` (${result.handoffs.length}${breached.size ? `, ${breached.size} breached` : ''})` : ''}`)];
      if (!result.handoffs.length) blocks.push(section(escapeMrkdwn(result.empty)));
      else blocks.push(...linesToBlocks(result.handoffs.map((h) => handoffLine(h, ctx.now, breached.has(h.id))), LIMITS.messageBlocks - 1));
      return { text: truncate(`${escapeMrkdwn(result.title)}: ${result.handoffs.length}`, LIMITS.messageText), blocks };
    }
    case 'show': {
      const h = result.handoff;
      return {
        text: truncate(`Handoff #${h.id}: ${escapeMrkdwn(h.transitionName)} · ${escapeMrkdwn(h.account.name)}`, LIMITS.messageText),
        blocks: detailBlocks(h, { transition: ctx.transitionOf?.(h.transition), now: ctx.now }, LIMITS.messageBlocks),
      };
    }
    case 'timeline': {
      const t = result.timeline;
      const lines = timelineLines(t).map((l) => `${slackDate(l.at, '{date_short} {time}')} · ${escapeMrkdwn(l.text)}`);
      const blocks: KnownBlock[] = [
        { type: 'header', text: plain(`Chain of custody: ${t.account.name}`, LIMITS.headerText) },
        section(t.owners.length ? t.owners.map((o) => `• *${safeMrkdwn(o.stageName, 100)}*: ${personText(o.owner)}`).join('\n') : 'Nobody owns this account at any stage yet.'),
      ];
      blocks.push(...(lines.length ? linesToBlocks(lines, LIMITS.messageBlocks - blocks.length) : [section('No handoffs yet.')]));
      return { text: truncate(`Chain of custody of ${escapeMrkdwn(t.account.name)}`, LIMITS.messageText), blocks };
    }
    case 'stats': {
      const r = result.report;
      const blocks: KnownBlock[] = [
        { type: 'header', text: plain(result.title, LIMITS.headerText) },
        section(reportLinesMrkdwn(kpiLines(r.overall, r.overall.previous))),
      ];
      const per = r.byTransition.map((t) => `• *${safeMrkdwn(t.name, 100)}*: ${t.volume} handoffs · SLA ${pct(t.slaAttainment)} · median accept ${secs(t.acceptWallP50S)} · ${t.breaches} breaches`);
      if (per.length) blocks.push(section('*By transition*'), ...linesToBlocks(per, LIMITS.messageBlocks - blocks.length - 2));
      if (r.topRejectReasons.length) blocks.push(section(`*Top rejection reasons*\n${r.topRejectReasons.map((x) => `• ${escapeMrkdwn(x.label)} (${x.count})`).join('\n')}`));
      return { text: truncate(escapeMrkdwn(result.title), LIMITS.messageText), blocks: blocks.slice(0, LIMITS.messageBlocks) };
    }
    case 'digest_preview':
      return buildDigestMessage(result.digest, { preview: true });
    case 'digest_subscription': {
      const next = result.nextAt ? ` The next one arrives ${slackDate(result.nextAt)}.` : '';
      const text = result.subscribed
        ? `${result.changed ? 'Subscribed: you' : 'You'} get the weekly breach digest.${next} \`${SLASH_COMMAND} digest unsubscribe\` stops it.`
        : `${result.changed ? 'Unsubscribed: you' : 'You'} don't get the weekly digest. \`${SLASH_COMMAND} digest subscribe\` starts it; \`${SLASH_COMMAND} digest now\` shows one now.`;
      return { text, blocks: [section(text)] };
    }
    case 'error':
      return { text: truncate(escapeMrkdwn(result.message), LIMITS.messageText), blocks: [section(`:warning: ${escapeMrkdwn(result.message)}`)] };
  }
}

const TONE_EMOJI = { good: ':large_green_circle:', bad: ':red_circle:', neutral: ':white_circle:' } as const;

function reportLinesMrkdwn(lines: ReportLine[]): string {
  return lines.map((l) => `${l.change ? TONE_EMOJI[l.tone] + ' ' : ''}*${escapeMrkdwn(l.label)}:* ${escapeMrkdwn(l.value)}${l.change ? ` _(${escapeMrkdwn(l.change)})_` : ''}`).join('\n');
}

/** The weekly digest as a Slack message (the chart is uploaded beside it by the gateway). */
export function buildDigestMessage(d: DigestView, opts: { preview?: boolean } = {}): SlackMessage {
  const title = `${opts.preview ? 'Preview: ' : ''}Handoff digest, ${d.scope.label}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(title, LIMITS.headerText) },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Week of ${slackDate(d.period.from, '{date_long}')} · your time zone` }] },
    section(reportLinesMrkdwn(digestLines(d))),
  ];
  if (d.worstBreaches.length) {
    const lines = d.worstBreaches.map((b) => {
      const ref = `*#${b.handoffId}*`;
      return `• ${ref} ${escapeMrkdwn(b.account)} · ${escapeMrkdwn(b.ownerName)} · ${b.kind === 'accept' ? 'accept' : 'first touch'} ${secs(b.lateS)} late${b.escalatedToName ? ` · escalated to ${escapeMrkdwn(b.escalatedToName)}` : ''} (\`${SLASH_COMMAND} show ${b.handoffId}\`)`;
    });
    blocks.push(section(`*Worst breaches of the week*\n${lines.join('\n')}`));
  } else blocks.push(section('*No SLA breaches this week.* :tada:'));
  if (d.topRejectReasons.length) blocks.push(section(`*Top rejection reasons*\n${d.topRejectReasons.map((x) => `• ${escapeMrkdwn(x.label)} (${x.count})`).join('\n')}`));
  if (d.slowestTransition) blocks.push(section(`*Slowest transition:* ${escapeMrkdwn(d.slowestTransition.name)} (median ${secs(d.slowestTransition.acceptWallP50S)} to accept)`));
  return { text: truncate(`${title}: ${digestLines(d).map((l) => `${l.label} ${l.value}`).join(', ')}`, LIMITS.messageText), blocks };
}

/** The monthly review for playbook admins: what to change in criteria, templates and training. */
export function buildReviewMessage(r: MonthlyReview, monthLabel: string): SlackMessage {
  const title = `Monthly handoff review, ${monthLabel}`;
  const blocks: KnownBlock[] = [{ type: 'header', text: plain(title, LIMITS.headerText) }];
  for (const sec of reviewSections(r)) {
    blocks.push(section(`*${escapeMrkdwn(sec.title)}*`));
    blocks.push(...(sec.lines.length ? linesToBlocks(sec.lines.map((l) => `• ${escapeMrkdwn(l)}`), Math.max(1, Math.floor((LIMITS.messageBlocks - blocks.length) / 2))) : [section('Nothing this month.')]));
  }
  return { text: truncate(title, LIMITS.messageText), blocks: blocks.slice(0, LIMITS.messageBlocks) };
}
