/**
 * The action ids (Slack) and verbs (Teams Action.Execute) of handoff cards, with the zod schema
 * of each payload. One module shared by blocks/ (which puts them on cards) and bots/ (which
 * parses the clicks), so the two platforms cannot drift apart. These strings are a contract:
 * cards already posted in channels carry them, so never rename one.
 */
import { z } from 'zod';

/** Slack `action_id`s and Teams `verb`s for the same operations. */
export const CARD_ACTIONS = {
  accept: { slack: 'handoff_accept', teams: 'handoff.accept' },
  reject: { slack: 'handoff_reject', teams: 'handoff.reject' },
  reassign: { slack: 'handoff_reassign', teams: 'handoff.reassign' },
  details: { slack: 'handoff_details', teams: 'handoff.details' },
  snooze: { slack: 'handoff_snooze', teams: 'handoff.snooze' },
  touch: { slack: 'handoff_touch', teams: 'handoff.touch' },
  complete: { slack: 'handoff_complete', teams: 'handoff.complete' },
  /** Teams: the card asks for a fresh, per-user view (refresh). */
  refresh: { slack: 'handoff_refresh', teams: 'handoff.refresh' },
} as const;
export type CardAction = keyof typeof CARD_ACTIONS;

/** Slack modal callback ids. */
export const SLACK_VIEWS = {
  reject: 'handoff_reject_modal',
  reassign: 'handoff_reassign_modal',
  details: 'handoff_details_modal',
} as const;

/** Slack: the button `value` is the handoff id and the version the card showed, e.g. "42:3". */
export const slackButtonValue = z
  .string()
  .regex(/^\d{1,10}:\d{1,10}$/, 'expected "<handoffId>:<version>"')
  .transform((s) => {
    const [id, version] = s.split(':').map(Number);
    return { handoffId: id!, version: version! };
  });
export type SlackButtonValue = z.output<typeof slackButtonValue>;
export function encodeSlackButtonValue(handoffId: number, version: number): string {
  return `${handoffId}:${version}`;
}

/** Slack modal `private_metadata`. */
export const slackModalMetadata = z.object({
  handoffId: z.number().int().positive(),
  version: z.number().int().positive(),
  /** Where the click came from, to answer there (ephemeral) if the submission fails late. */
  channelId: z.string().optional(),
});
export type SlackModalMetadata = z.infer<typeof slackModalMetadata>;

/**
 * Teams: ids of the inputs on a handoff card. Adaptive Cards refuse duplicate input ids in one
 * card, so the reject and reassign forms (two ShowCards of the same card) each have their own.
 */
export const TEAMS_INPUTS = {
  rejectReason: 'rejectReason',
  rejectNote: 'rejectNote',
  reassignTo: 'reassignTo',
  reassignNote: 'reassignNote',
} as const;

/** Teams Action.Execute `data`. Input fields of the card arrive merged into it. */
export const teamsActionData = z.object({
  handoffId: z.number().int().positive(),
  version: z.number().int().positive().optional(),
  reasonCode: z.string().max(100).optional(),
  note: z.string().max(3000).optional(),
  to: z.string().max(320).optional(),
  [TEAMS_INPUTS.rejectReason]: z.string().max(100).optional(),
  [TEAMS_INPUTS.rejectNote]: z.string().max(3000).optional(),
  [TEAMS_INPUTS.reassignTo]: z.string().max(320).optional(),
  [TEAMS_INPUTS.reassignNote]: z.string().max(3000).optional(),
});
export type TeamsActionData = z.infer<typeof teamsActionData>;

/** Reassign target meaning "the next person in the queue" in both platforms' pickers. */
export const QUEUE_TARGET = 'queue';
