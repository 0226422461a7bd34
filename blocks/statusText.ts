/**
 * A handoff's status in words, the same on every surface (Slack, Teams): each platform adds only
 * its own mark (Slack's emoji, Teams' icon and tone) in its format.ts.
 */
import type { HandoffStatus } from '../src/domain/lifecycle.js';

export const STATUS_LABEL: Record<HandoffStatus, string> = {
  routed: 'Awaiting acceptance',
  posted: 'Awaiting acceptance',
  reassigned: 'Reassigned, awaiting acceptance',
  escalated: 'Escalated, awaiting acceptance',
  accepted: 'Accepted',
  rejected: 'Rejected',
  completed: 'Completed',
  withdrawn: 'Withdrawn',
};
