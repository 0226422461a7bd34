/**
 * Delivers weekly digests and monthly reviews (outbox events `digest.weekly`, `digest.monthly`)
 * to the subscriber's Slack DM: the message, then the chart as an uploaded PNG.
 *
 * Each part is recorded once sent (platform_event), so a retry after the message went out only
 * uploads the chart. A crash between Slack accepting a part and the record is the one window in
 * which a part can be sent twice; a digest is never lost.
 */
import { DateTime } from 'luxon';
import type { WebClient } from '@slack/web-api';
import type { DigestDue, OutboxConsumer, OutboxEvent } from '../../src/events.js';
import type { HandoffService } from '../../src/handoffs.js';
import type { PlatformStore } from '../../src/platformStore.js';
import type { Logger } from '../../src/logger.js';
import type { Reports } from '../../src/reports/index.js';
import { buildDigestMessage, buildReviewMessage } from '../../blocks/slack/commands.js';
import { CHART_TITLE, renderDigestChart } from '../chart.js';
import { toDeliveryError } from './api.js';
import type { SlackUserMapper } from './users.js';

export const SLACK_DIGEST_CONSUMER = 'slack-digest';

export interface SlackDigestDeps {
  service: HandoffService;
  reports: Reports;
  store: PlatformStore;
  client: WebClient;
  users: SlackUserMapper;
  log: Logger;
}

export class SlackDigestDelivery implements OutboxConsumer {
  readonly name = SLACK_DIGEST_CONSUMER;
  constructor(private readonly deps: SlackDigestDeps) {}

  readonly subscribes = ['digest.weekly', 'digest.monthly'] as const;

  async handle(event: OutboxEvent): Promise<void> {
    const due = event.payload as unknown as DigestDue;
    const { service, reports, store, client, users, log } = this.deps;
    const person = service.directory.byId.get(due.personId);
    if (!person) return;
    let userId: string | undefined;
    try {
      userId = await users.slackIdFor(person);
    } catch (err) {
      throw toDeliveryError(err, 'users.lookupByEmail');
    }
    if (!userId) {
      log.info({ personId: person.id, kind: due.kind }, 'Slack: no Slack account for this digest subscriber; skipped');
      return;
    }
    const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw toDeliveryError(err, what);
      }
    };
    const channel = (await call('conversations.open', () => client.conversations.open({ users: userId! }))).channel?.id;
    if (!channel) throw new Error('conversations.open returned no channel id');
    const from = new Date(due.periodFrom);
    const to = new Date(due.periodTo);
    const messageKey = `${event.id}:message`;
    if (due.kind === 'monthly') {
      if (await store.seen(this.name, messageKey)) return;
      const month = DateTime.fromJSDate(from, { zone: person.timeZone }).toFormat('LLLL yyyy');
      const msg = buildReviewMessage(await reports.review(from, to), month);
      await call('chat.postMessage', () => client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks }));
      await store.firstSeen(this.name, messageKey);
      return;
    }
    const digest = await reports.digestFor(person.id, from, to);
    if (!(await store.seen(this.name, messageKey))) {
      const msg = buildDigestMessage(digest);
      await call('chat.postMessage', () => client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks }));
      await store.firstSeen(this.name, messageKey);
    }
    const chartKey = `${event.id}:chart`;
    if (!(await store.seen(this.name, chartKey))) {
      const png = renderDigestChart(digest.series);
      await call('files.uploadV2', () => client.filesUploadV2({ channel_id: channel, file: png, filename: 'handoff-digest.png', title: CHART_TITLE }));
      await store.firstSeen(this.name, chartKey);
    }
    log.info({ personId: person.id, periodFrom: due.periodFrom }, 'Slack: weekly digest delivered');
  }
}
