/**
 * The console's words for what the core stores as ids and enum values (bots/console/views.ts):
 * timer steps, statuses and audit events, read from real step ids and event shapes the SLA engine
 * and the lifecycle write.
 */
import { statusLabel, timelineEntry, timerLabel } from '../../../bots/console/views.js';
import { stepId } from '../../../src/sla/plan.js';
import type { HandoffEventView, PersonRef } from '../../../src/domain/view.js';

const jordan: PersonRef = { id: 'jordan', name: 'Jordan Ellis', email: 'jordan@example.com', slackUserId: null, teamsUserId: null };
const priya: PersonRef = { id: 'priya', name: 'Priya Nair', email: 'priya@example.com', slackUserId: null, teamsUserId: null };

function event(over: Partial<HandoffEventView>): HandoffEventView {
  return { id: '1', version: 1, type: 'routed', actor: null, at: '2026-12-07T10:00:00.000Z', fromStatus: null, toStatus: 'routed', owner: null, reasonCode: null, note: null, data: null, ...over };
}

describe('timer labels', () => {
  it('name every step the SLA plan makes, in words', () => {
    expect(timerLabel('sla.timer', stepId('accept', { type: 'nudge', point: 0.8 }))).toBe('nudge at 80 % of the accept SLA');
    expect(timerLabel('sla.timer', stepId('first_touch', { type: 'nudge', point: 0.5 }))).toBe('nudge at 50 % of the first-touch SLA');
    expect(timerLabel('sla.timer', stepId('accept', { type: 'escalate', level: 1 }))).toBe('the accept SLA breached: escalation step 1');
    expect(timerLabel('sla.timer', stepId('first_touch', { type: 'escalate', level: 3 }))).toBe('escalation step 3 (the first-touch SLA still missed)');
    expect(timerLabel('sla.timer', stepId('accept', { type: 'reassign' }))).toBe('reassign to the next in the queue (the accept SLA missed)');
  });

  it('keep what they cannot read as it is, and name a job without a step by its name', () => {
    expect(timerLabel('sla.timer', 'something:else')).toBe('something:else');
    expect(timerLabel('digest.weekly', null)).toBe('digest weekly');
  });
});

describe('status labels', () => {
  it('are the Teams card\'s words, and capitalised words for anything else', () => {
    expect(statusLabel('routed')).toBe('Awaiting acceptance');
    expect(statusLabel('escalated')).toBe('Escalated, awaiting acceptance');
    expect(statusLabel('received')).toBe('Received');
  });
});

describe('timeline entries', () => {
  it('a rejection reads the reason\'s label, the statuses in words and the note', () => {
    const e = timelineEntry(event({ type: 'rejected', actor: priya, fromStatus: 'posted', toStatus: 'rejected', reasonCode: 'meeting_not_confirmed', note: 'Never confirmed.' }), [{ code: 'meeting_not_confirmed', label: 'Meeting not confirmed' }]);
    expect(e).toEqual({ at: '2026-12-07T10:00:00.000Z', what: 'rejected', by: 'Priya Nair', detail: 'Awaiting acceptance → Rejected · reason: Meeting not confirmed', note: 'Never confirmed.', type: 'rejected' });
  });

  it('an escalation by Baton names the step and who was told', () => {
    const e = timelineEntry(event({ type: 'escalated', fromStatus: 'posted', toStatus: 'escalated', data: { sla: 'escalation', kind: 'accept', step: 'accept:escalate:1', level: 1, escalatedTo: jordan } }), []);
    expect(e.by).toBe('Baton');
    expect(e.detail).toBe('Awaiting acceptance → Escalated, awaiting acceptance · the accept SLA breached: escalation step 1 · told Jordan Ellis');
  });

  it('a first touch, a snooze and a first-touch breach read as words', () => {
    expect(timelineEntry(event({ type: 'touched', actor: priya, toStatus: 'accepted', fromStatus: 'accepted' }), []).what).toBe('first touch logged');
    const snooze = timelineEntry(event({ type: 'snoozed', actor: priya, toStatus: 'posted', fromStatus: 'posted', reasonCode: '1h' }), []);
    expect([snooze.what, snooze.detail]).toEqual(['reminders snoozed', 'for 1 hour']);
    expect(timelineEntry(event({ type: 'sla_breach', toStatus: 'accepted', fromStatus: 'accepted', data: { step: 'first_touch:escalate:1' } }), []).what).toBe('SLA breached');
  });
});
