/** Fixtures for playbook tests: the default playbook text, patched in place, or a minimal valid one. */
import { readFileSync } from 'node:fs';
import { PlaybookError, type ErrorDetail } from '../../src/errors.js';
import { parsePlaybook } from '../../src/playbook/load.js';

export const DEFAULT_TEXT = readFileSync(new URL('../../playbook.yml', import.meta.url), 'utf8');

/** Index of `needle`, searching from the first `after` anchor (each must exist, so typos in tests fail loudly). */
function indexOf(text: string, needle: string, after?: string): number {
  const start = after === undefined ? 0 : text.indexOf(after);
  if (start < 0) throw new Error(`anchor not found: ${after}`);
  const at = text.indexOf(needle, start);
  if (at < 0) throw new Error(`text not found: ${needle}${after ? ` (after ${after})` : ''}`);
  return at;
}

/** Replaces the first `find` after the `after` anchor. */
export function patch(text: string, find: string, replace: string, after?: string): string {
  const at = indexOf(text, find, after);
  return text.slice(0, at) + replace + text.slice(at + find.length);
}

/** "(line L, column C)" of `needle` (its first character), as the loader prints positions. */
export function at(text: string, needle: string, after?: string): string {
  const before = text.slice(0, indexOf(text, needle, after));
  const lines = before.split('\n');
  return `(line ${lines.length}, column ${(lines.at(-1) ?? '').length + 1})`;
}

/** The details of the PlaybookError `text` must produce. */
export function problemsOf(text: string): ErrorDetail[] {
  try {
    parsePlaybook(text, 'test.yml');
  } catch (err) {
    if (err instanceof PlaybookError) return err.details ?? [];
    throw err;
  }
  throw new Error('expected the playbook to be rejected, but it loaded');
}

export const MINIMAL = `
organization:
  name: Test Co
  timeZone: Europe/London
stages:
  a: Stage A
  b: Stage B
teams:
  alpha:
    name: Alpha
    stage: a
    timeZone: Europe/London
    businessHours:
      mon: "09:00-17:00"
    lead: ann
  beta:
    name: Beta
    stage: b
    timeZone: America/New_York
    businessHours:
      mon: "09:00-17:00"
      tue: "09:00-12:00, 13:00-17:00"
    lead: bob
people:
  ann:
    name: Ann
    email: ann@test.example
    team: alpha
  bob:
    name: Bob
    email: Bob@Test.Example
    team: beta
  cat:
    name: Cat
    email: cat@test.example
    team: beta
    manager: bob
transitions:
  a_to_b:
    from: alpha
    to: beta
    packet:
      score:
        label: Score
        type: number
        description: A score
        example: 5
      tier:
        label: Tier
        type: enum
        values: [gold, silver]
        description: Customer tier
        example: gold
    entryCriteria:
      - field: packet.score
        gte: 1
    sla:
      accept: 1h
      firstTouch: 2h
    rejectReasons:
      nope: Not for us
`;
