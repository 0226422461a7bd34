/**
 * What adapters may ask of reporting: KPIs, timelines, digests (preview, subscription, delivery
 * content) and the monthly review — one object handed to platforms in the CoreContext.
 */
import type { Database } from '../store/database.js';
import type { Playbook } from '../playbook/schema.js';
import type { HandoffService } from '../handoffs.js';
import type { CommandReports } from '../commands.js';
import type { DigestScheduler } from '../digest.js';
import { computeKpis } from './kpis.js';
import { accountTimeline } from './timeline.js';
import { buildDigest, previousWeek, type DigestView } from './digest.js';
import { monthlyReview, type MonthlyReview } from './review.js';
import { NotFoundError } from '../errors.js';

export interface Reports extends CommandReports {
  /** The digest content for one subscriber and period (what `digest.weekly` events deliver). */
  digestFor(personId: string, from: Date, to: Date): Promise<DigestView>;
  review(from: Date, to: Date): Promise<MonthlyReview>;
}

export function createReports(deps: { db: Database; playbook: Playbook; service: HandoffService; digests: DigestScheduler; publicUrl?: string | undefined }): Reports {
  const { db, playbook, service, digests } = deps;
  const person = (id: string) => {
    const p = service.directory.byId.get(id);
    if (!p) throw new NotFoundError(`There is no person "${id}" in the playbook.`);
    return p;
  };
  return {
    kpis: (filter) => computeKpis(db, playbook, filter),
    timeline: (key) => accountTimeline(service, db, key),
    digestPreview: (p, now) => buildDigest(db, playbook, p, previousWeek(now, p.timeZone), { publicUrl: deps.publicUrl, asOf: now }),
    digestFor: (personId, from, to) => buildDigest(db, playbook, person(personId), { from, to }, { publicUrl: deps.publicUrl }),
    setDigestSubscription: (personId, on) => digests.setSubscription(personId, on),
    async digestStatus(personId, now) {
      const subscribed = await digests.isSubscribed(personId);
      return { subscribed, nextAt: subscribed ? digests.nextWeeklyAt(person(personId), now) : null };
    },
    review: (from, to) => monthlyReview(db, playbook, from, to),
  };
}
