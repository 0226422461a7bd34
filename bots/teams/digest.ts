/**
 * Delivers weekly digests and monthly reviews (outbox events `digest.weekly`, `digest.monthly`)
 * to the subscriber's personal chat: the card, then the chart as an inline PNG image.
 * Each part is recorded once sent, so a retry only sends what is missing.
 */
import { CardFactory } from 'botbuilder';
import { DateTime } from 'luxon';
import type { DigestDue, OutboxConsumer, OutboxEvent } from '../../src/events.js';
import type { HandoffService } from '../../src/handoffs.js';
import type { PlatformStore } from '../../src/platformStore.js';
import type { Logger } from '../../src/logger.js';
import type { Reports } from '../../src/reports/index.js';
import { buildDigestCard, buildReviewCard } from '../../blocks/teams/commandCards.js';
import { CHART_TITLE, renderDigestChart } from '../chart.js';
import type { TeamsGateway } from './gateway.js';
import { classifyTeamsError } from './errors.js';

export const TEAMS_DIGEST_CONSUMER = 'teams-digest';

export class TeamsDigestDelivery implements OutboxConsumer {
  readonly name = TEAMS_DIGEST_CONSUMER;
  constructor(private readonly deps: { service: HandoffService; reports: Reports; store: PlatformStore; gateway: TeamsGateway; log: Logger }) {}

  readonly subscribes = ['digest.weekly', 'digest.monthly'] as const;

  async handle(event: OutboxEvent): Promise<void> {
    const due = event.payload as unknown as DigestDue;
    const { service, reports, store, gateway, log } = this.deps;
    const person = service.directory.byId.get(due.personId);
    if (!person?.teamsUserId && !person?.aadObjectId) return; // not a Teams user
    const from = new Date(due.periodFrom);
    const to = new Date(due.periodTo);
    const send = async (key: string, attachments: Parameters<TeamsGateway['sendToPerson']>[1], summary: string): Promise<boolean> => {
      if (await store.seen(this.name, key)) return true;
      let id: string | undefined;
      try {
        id = await gateway.sendToPerson(person.id, attachments, summary);
      } catch (err) {
        throw classifyTeamsError(err, `sending the ${due.kind} digest to ${person.name}`);
      }
      if (!id) return false;
      await store.firstSeen(this.name, key);
      return true;
    };
    if (due.kind === 'monthly') {
      const month = DateTime.fromJSDate(from, { zone: person.timeZone }).toFormat('LLLL yyyy');
      const card = buildReviewCard(await reports.review(from, to), month);
      if (!(await send(`${event.id}:message`, [CardFactory.adaptiveCard(card)], card.fallbackText ?? 'Monthly review'))) log.info({ personId: person.id }, 'Teams: no chat with this admin yet; monthly review skipped');
      return;
    }
    const digest = await reports.digestFor(person.id, from, to);
    const card = buildDigestCard(digest);
    if (!(await send(`${event.id}:message`, [CardFactory.adaptiveCard(card)], card.fallbackText ?? 'Handoff digest'))) {
      log.info({ personId: person.id }, 'Teams: no chat with this subscriber yet (app not installed); digest skipped');
      return;
    }
    const png = renderDigestChart(digest.series);
    await send(`${event.id}:chart`, [{ contentType: 'image/png', contentUrl: `data:image/png;base64,${png.toString('base64')}`, name: 'handoff-digest.png' }], CHART_TITLE);
    log.info({ personId: person.id, periodFrom: due.periodFrom }, 'Teams: weekly digest delivered');
  }
}
