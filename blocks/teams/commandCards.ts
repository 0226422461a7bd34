/**
 * Replies to the bot's text commands (`help`, `owner acme`, `mine`, `team`, `show 42`): one card
 * per semantic CommandResult from src/commands.ts. Buttons that run another command are
 * `messageBack` submits, so a click reads as if the person had typed the command.
 */
import type { CommandResult } from '../../src/commands.js';
import type { HandoffView } from '../../src/domain/view.js';
import {
  adaptiveCard,
  fitCard,
  localDateTime,
  md,
  richText,
  run,
  textBlock,
  truncate,
  type AdaptiveCard,
  type CardElement,
  type Container,
  type SubmitAction,
} from './card.js';
import { buildDetailsCard, type HandoffCardContext } from './handoffCard.js';
import { STATUS_LABEL } from '../statusText.js';
import type { DigestView } from '../../src/reports/digest.js';
import { digestLines, kpiLines, pct, reviewSections, secs, timelineLines, type ReportLine } from '../reportText.js';
import type { MonthlyReview } from '../../src/reports/review.js';

const LIST_STEPS = [25, 15, 10, 5] as const;

const READ_ONLY: HandoffCardContext = { refreshUserIds: [] };

/** `detailsContext` is what `show` renders the details card with (default: read-only). */
export function buildCommandCard(result: CommandResult, detailsContext: HandoffCardContext = READ_ONLY): AdaptiveCard {
  switch (result.kind) {
    case 'help':
      return helpCard(result);
    case 'pick_account':
      return adaptiveCard({
        fallbackText: `Several accounts match "${truncate(result.query, 100)}"`,
        body: [
          textBlock('Several accounts match', { weight: 'Bolder' }),
          richText([run(`"${truncate(result.query, 200)}" matches ${result.accounts.length} accounts. Pick one:`)], { spacing: 'Small' }),
        ],
        actions: result.accounts.slice(0, 10).map((a) => {
          const key = a.crmId ?? a.domain ?? String(a.id);
          return messageBack(truncate(`${a.name}${a.domain ? ` (${a.domain})` : ''}`, 60), `owner ${key}`);
        }),
      });
    case 'owner':
      return fitCard(LIST_STEPS, (max) =>
        adaptiveCard({
          fallbackText: `Owners of ${truncate(result.account.name, 100)}`,
          body: [
            textBlock('Account owners', { weight: 'Bolder', size: 'Medium', style: 'heading' }),
            richText([run(result.account.name, { weight: 'Bolder' }), ...(result.account.domain ? [run(` · ${result.account.domain}`, { isSubtle: true })] : [])], { spacing: 'None' }),
            ...(result.owners.length
              ? result.owners.map((o) => textBlock(`**${md(o.stageName)}:** ${md(o.owner.name)} · since ${localDateTime(o.since)}`, { spacing: 'Small' }))
              : [textBlock('Nobody has accepted a handoff for this account yet.', { isSubtle: true })]),
            ...handoffList('Open handoffs', result.open, [], max),
          ],
        }),
      );
    case 'list':
      return fitCard(LIST_STEPS, (max) =>
        adaptiveCard({
          fallbackText: truncate(result.title, 200),
          body: [
            textBlock(md(result.title), { weight: 'Bolder', size: 'Medium', style: 'heading' }),
            ...(result.handoffs.length
              ? [
                  ...(result.breachedIds.length ? [textBlock(`🚨 ${result.breachedIds.length} past their SLA`, { color: 'Attention', spacing: 'Small' })] : []),
                  ...handoffList(undefined, result.handoffs, result.breachedIds, max),
                ]
              : [textBlock(md(result.empty), { isSubtle: true })]),
          ],
          actions: result.handoffs.slice(0, 3).map((h) => messageBack(`Show #${h.id}`, `show ${h.id}`)),
        }),
      );
    case 'show':
      return buildDetailsCard(result.handoff, detailsContext);
    case 'timeline':
      return fitCard(LIST_STEPS, (max) => {
        const t = result.timeline;
        const lines = timelineLines(t);
        return adaptiveCard({
          fallbackText: `Chain of custody of ${truncate(t.account.name, 100)}`,
          body: [
            textBlock('Chain of custody', { weight: 'Bolder', size: 'Medium', style: 'heading' }),
            richText([run(t.account.name, { weight: 'Bolder' })], { spacing: 'None' }),
            ...t.owners.map((o) => richText([run(`${o.stageName}: `, { weight: 'Bolder' }), run(o.owner.name)], { spacing: 'Small' })),
            ...lines.slice(-max * 2).map((l) => richText([run(`${localDateTime(l.at)} · `, { isSubtle: true }), run(truncate(l.text, 300))], { spacing: 'Small' })),
            ...(lines.length > max * 2 ? [textBlock(`…${lines.length - max * 2} earlier steps not shown.`, { isSubtle: true })] : []),
          ],
        });
      });
    case 'stats': {
      const r = result.report;
      return fitCard(LIST_STEPS, (max) =>
        adaptiveCard({
          fallbackText: truncate(result.title, 200),
          body: [
            textBlock(md(result.title), { weight: 'Bolder', size: 'Medium', style: 'heading' }),
            ...reportLineElements(kpiLines(r.overall, r.overall.previous)),
            ...(r.byTransition.length ? [textBlock('By transition', { weight: 'Bolder', spacing: 'Medium' })] : []),
            ...r.byTransition.slice(0, max).map((t) =>
              richText([run(`${t.name}: `, { weight: 'Bolder' }), run(`${t.volume} handoffs · SLA ${pct(t.slaAttainment)} · median accept ${secs(t.acceptWallP50S)} · ${t.breaches} breaches`)], { spacing: 'Small' }),
            ),
            ...(r.topRejectReasons.length ? [textBlock('Top rejection reasons', { weight: 'Bolder', spacing: 'Medium' })] : []),
            ...r.topRejectReasons.map((x) => richText([run(`${x.label} (${x.count})`)], { spacing: 'Small' })),
          ],
        }),
      );
    }
    case 'digest_preview':
      return buildDigestCard(result.digest, { preview: true });
    case 'digest_subscription': {
      const next = result.nextAt ? ` The next one arrives ${localDateTime(result.nextAt)}.` : '';
      const text = result.subscribed
        ? `${result.changed ? 'Subscribed: you' : 'You'} get the weekly breach digest.${next} Send "digest unsubscribe" to stop it.`
        : `${result.changed ? 'Unsubscribed: you' : 'You'} don't get the weekly digest. Send "digest subscribe" to start it, or "digest now" to see one now.`;
      return adaptiveCard({ fallbackText: truncate(text, 300), body: [textBlock(md(text))] });
    }
    case 'error':
      return errorCard(result.message);
  }
}

const TONE_COLOR = { good: 'Good', bad: 'Attention', neutral: 'Default' } as const;

function reportLineElements(lines: ReportLine[]): CardElement[] {
  return lines.map((l) =>
    richText([run(`${l.label}: `, { weight: 'Bolder' }), run(l.value), ...(l.change ? [run(`  ${l.change}`, { color: TONE_COLOR[l.tone], isSubtle: l.tone === 'neutral' })] : [])], { spacing: 'Small' }),
  );
}

/** The weekly digest card (the chart goes in a separate message as an inline image). */
export function buildDigestCard(d: DigestView, opts: { preview?: boolean } = {}): AdaptiveCard {
  const title = `${opts.preview ? 'Preview: ' : ''}Handoff digest, ${d.scope.label}`;
  return fitCard(LIST_STEPS, (max) =>
    adaptiveCard({
      fallbackText: truncate(title, 200),
      body: [
        textBlock(md(title), { weight: 'Bolder', size: 'Medium', style: 'heading', wrap: true }),
        textBlock(`Week of ${localDateTime(d.period.from)}`, { isSubtle: true, spacing: 'None' }),
        ...reportLineElements(digestLines(d)),
        textBlock(d.worstBreaches.length ? 'Worst breaches of the week' : 'No SLA breaches this week 🎉', { weight: 'Bolder', spacing: 'Medium' }),
        ...d.worstBreaches.slice(0, Math.min(5, max)).map((b) =>
          richText(
            [
              run(`#${b.handoffId} `, { weight: 'Bolder' }),
              run(`${b.account} · ${b.ownerName} · ${b.kind === 'accept' ? 'accept' : 'first touch'} ${secs(b.lateS)} late${b.escalatedToName ? ` · escalated to ${b.escalatedToName}` : ''}`),
            ],
            { spacing: 'Small' },
          ),
        ),
        ...(d.topRejectReasons.length ? [textBlock('Top rejection reasons', { weight: 'Bolder', spacing: 'Medium' })] : []),
        ...d.topRejectReasons.map((x) => richText([run(`${x.label} (${x.count})`)], { spacing: 'Small' })),
        ...(d.slowestTransition ? [richText([run('Slowest transition: ', { weight: 'Bolder' }), run(`${d.slowestTransition.name} (median ${secs(d.slowestTransition.acceptWallP50S)} to accept)`)], { spacing: 'Medium' })] : []),
      ],
      actions: d.worstBreaches.slice(0, 3).map((b) => messageBack(`Show #${b.handoffId}`, `show ${b.handoffId}`)),
    }),
  );
}

export function errorCard(message: string): AdaptiveCard {
  return adaptiveCard({
    fallbackText: truncate(message, 300),
    body: [{ type: 'Container', style: 'attention', items: [richText([run(truncate(message, 2000))])] }],
  });
}

/** The first thing someone sees after installing the app in a personal chat. */
export function buildWelcomeCard(name: string | undefined, commands: { usage: string; description: string }[]): AdaptiveCard {
  const card = helpCard({ kind: 'help', commands });
  card.body.unshift(
    richText([run(`Hi${name ? ` ${name}` : ''}! I'm Baton. I post handoffs for you to accept here and in your team's channel, and remind you before SLAs run out.`)]),
  );
  card.fallbackText = 'Welcome to Baton';
  return card;
}

function helpCard(result: Extract<CommandResult, { kind: 'help' }>): AdaptiveCard {
  const body: CardElement[] = [];
  if (result.problem) body.push({ type: 'Container', style: 'warning', items: [richText([run(truncate(result.problem, 500))])] });
  body.push(textBlock('Baton commands', { weight: 'Bolder', size: 'Medium', style: 'heading' }));
  body.push(textBlock('Type them here, or mention me in a channel (@Baton mine).', { isSubtle: true, spacing: 'None' }));
  for (const c of result.commands) body.push(richText([run(c.usage, { weight: 'Bolder' }), run(` — ${c.description}`)], { spacing: 'Small' }));
  return adaptiveCard({
    fallbackText: 'Baton commands',
    body,
    actions: [messageBack('My handoffs', 'mine'), messageBack("My team's", 'team')],
  });
}

function handoffList(title: string | undefined, handoffs: HandoffView[], breachedIds: number[], max: number): CardElement[] {
  if (!handoffs.length) return title ? [textBlock(`${title}: none`, { isSubtle: true, separator: true })] : [];
  const breached = new Set(breachedIds);
  const items: CardElement[] = [];
  if (title) items.push(textBlock(title, { weight: 'Bolder' }));
  for (const h of handoffs.slice(0, max)) {
    const due = h.slaDueAt ? ` · due ${localDateTime(h.slaDueAt)}` : '';
    const entry: Container = {
      type: 'Container',
      spacing: 'Small',
      ...(breached.has(h.id) ? { style: 'attention' as const } : {}),
      items: [
        richText([run(`#${h.id} `, { weight: 'Bolder' }), run(truncate(h.account.name, 120)), run(` · ${h.transitionName}`, { isSubtle: true })]),
        textBlock(`${breached.has(h.id) ? '🚨 ' : ''}${STATUS_LABEL[h.status]} · ${md(h.owner.name)}${due}`, { spacing: 'None', size: 'Small' }),
      ],
    };
    items.push(entry);
  }
  if (handoffs.length > max) items.push(textBlock(`…and ${handoffs.length - max} more. Type "show" and a number to open one.`, { isSubtle: true }));
  return [{ type: 'Container', separator: true, items }];
}

function messageBack(title: string, text: string): SubmitAction {
  return { type: 'Action.Submit', title, data: { msteams: { type: 'messageBack', text, displayText: text }, command: text } };
}

/** The monthly review for playbook admins. */
export function buildReviewCard(r: MonthlyReview, monthLabel: string): AdaptiveCard {
  const title = `Monthly handoff review, ${monthLabel}`;
  return fitCard(LIST_STEPS, (max) =>
    adaptiveCard({
      fallbackText: title,
      body: [
        textBlock(md(title), { weight: 'Bolder', size: 'Medium', style: 'heading', wrap: true }),
        ...reviewSections(r).flatMap((sec) => [
          textBlock(md(sec.title), { weight: 'Bolder', spacing: 'Medium' }),
          ...(sec.lines.length ? sec.lines.slice(0, max).map((l) => richText([run(l)], { spacing: 'Small' })) : [textBlock('Nothing this month.', { isSubtle: true })]),
        ]),
      ],
    }),
  );
}
