/**
 * The delivery lane of a handoff event for a chat gateway (src/outbox.ts OutboxConsumer.laneOf):
 * one lane per receiving team, i.e. per team channel, so a busy or rate-limited channel does not
 * hold back another team's cards and nudges. A handoff stays in the lane it started in (a reassign
 * to another team keeps it there): the order of one handoff's events matters more.
 */
import type { OutboxEvent } from './events.js';

export class TeamLanes {
  /** handoff id → its team; bounded, oldest forgotten first. */
  private readonly teamOfHandoff = new Map<number, string>();

  constructor(
    private readonly teamOf: (handoffId: number) => Promise<string>,
    private readonly max = 10_000,
  ) {}

  async laneOf(event: OutboxEvent): Promise<string> {
    if (event.handoffId === null) return 'no handoff';
    let team = this.teamOfHandoff.get(event.handoffId);
    if (team === undefined) {
      team = await this.teamOf(event.handoffId);
      if (this.teamOfHandoff.size >= this.max) this.teamOfHandoff.delete(this.teamOfHandoff.keys().next().value!);
      this.teamOfHandoff.set(event.handoffId, team);
    }
    return `team:${team}`;
  }
}
