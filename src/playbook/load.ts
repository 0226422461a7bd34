/**
 * Reads playbook.yml into the normalised Playbook, or throws one PlaybookError listing every
 * problem in the file with its dotted path and line, so RevOps fixes them in one round trip
 * instead of one restart per typo.
 *
 * Two passes:
 *  1. check — parse section by section and entity by entity (so one broken team does not hide
 *     the problems of the others) and verify every cross-reference;
 *  2. build — only when the check found nothing: parse the whole file with the composed zod
 *     schema and map it to the normalised types, resolving references and applying defaults.
 *
 * Each section's YAML form, checks and build live in its own module (organization.ts,
 * calendars.ts, people.ts, packetFields.ts, transitions.ts, crm.ts, webhooks.ts); this file composes them.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { LineCounter, parseDocument } from 'yaml';
import { PlaybookError } from '../errors.js';
import { describeValue, isRecord } from './format.js';
import { safeParseUntrusted } from '../untrusted.js';
import { holidayCalendarSchema } from './calendars.js';
import { buildCrm, checkCrm, crmSchema } from './crm.js';
import { digestSchema, organizationSchema, stageNameSchema } from './organization.js';
import type { DraftField } from './packetFields.js';
import {
  buildPeople,
  buildTeams,
  checkPeople,
  checkPersonRef,
  checkTeams,
  indexEmails,
  personResolver,
  personSchema,
  personShape,
  teamFinder,
  teamSchema,
  teamShape,
  type Index,
} from './people.js';
import { entries, fields, FILE_PATH, items, part, Problems, unknownKeyMessage } from './problems.js';
import type { Playbook } from './schema.js';
import { buildTransitions, checkChain, checkTransition, defaultsSchema, transitionSchema } from './transitions.js';
import { ID_PATTERN, PERSON_ID_PATTERN, personRefSchema, rawErrorMap, strict } from './values.js';
import { buildWebhooks, checkWebhooks, webhooksSchema } from './webhooks.js';

// ---------------------------------------------------------------------------------------
// The whole file, composed from the sections
// ---------------------------------------------------------------------------------------

export const playbookSections = {
  organization: organizationSchema,
  admins: z.array(personRefSchema).default([]),
  stages: z.record(z.string(), stageNameSchema),
  holidayCalendars: z.record(z.string(), holidayCalendarSchema).default({}),
  teams: z.record(z.string(), teamSchema),
  people: z.record(z.string(), personSchema),
  defaults: defaultsSchema.default({}),
  transitions: z.record(z.string(), transitionSchema),
  digest: digestSchema.default({ day: 1, time: '08:00', subscribers: [] }),
  crm: crmSchema.optional(),
  webhooks: webhooksSchema,
};

/** The whole file. check() parses it section by section so one mistake does not hide the others. */
export const playbookFileSchema = strict(playbookSections);
export type PlaybookFile = z.input<typeof playbookFileSchema>;
export type ParsedPlaybookFile = z.output<typeof playbookFileSchema>;

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

export async function loadPlaybook(path: string): Promise<Playbook> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
    const message =
      code === 'ENOENT'
        ? `file not found: ${path} (start from the default playbook.yml at the repository root)`
        : `cannot read ${path}: ${code ?? (err instanceof Error ? err.message : String(err))}`;
    throw new PlaybookError(path, [{ path: FILE_PATH, message }]);
  }
  return parsePlaybook(text, path);
}

export function parsePlaybook(text: string, source = 'playbook.yml'): Playbook {
  const lines = new LineCounter();
  // YAML 1.2 core schema: dates like 2026-12-25 and times like 08:00 stay strings, and
  // yes/no/on/off stay words; merge keys (<<: *hours) let editors reuse blocks.
  const doc = parseDocument(text, { lineCounter: lines, version: '1.2', schema: 'core', merge: true, prettyErrors: false });
  const problems = new Problems(doc, lines);

  if (doc.errors.length > 0) {
    for (const err of doc.errors) problems.syntax(err, text);
    throw problems.error(source);
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 10_000 });
  } catch (err) {
    problems.add([], err instanceof Error ? err.message : String(err));
    throw problems.error(source);
  }
  if (!isRecord(root)) {
    problems.add(
      [],
      root === null || root === undefined
        ? 'the file is empty; start from the default playbook.yml'
        : `expected sections (organization, stages, teams, people, transitions, …) at the top level, got ${describeValue(root)}`,
    );
    throw problems.error(source);
  }

  check(problems, root);
  if (problems.count > 0) throw problems.error(source);

  const parsed = safeParseUntrusted(playbookFileSchema, root, { error: rawErrorMap });
  if (!parsed.success) {
    // The check pass uses the same schemas, so this only fires if the two ever drift apart.
    problems.zod(parsed.error.issues, []);
    throw problems.error(source);
  }
  return build(parsed.data);
}

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

const REQUIRED_SECTIONS = ['organization', 'stages', 'teams', 'people', 'transitions'] as const;

function check(problems: Problems, root: Record<string, unknown>): void {
  const sections = Object.keys(playbookSections);
  for (const key of Object.keys(root)) {
    if (!sections.includes(key)) problems.add([key], unknownKeyMessage(key, sections));
  }
  for (const key of REQUIRED_SECTIONS) {
    if (root[key] === undefined || root[key] === null) problems.add([key], `required section "${key}" is missing`);
  }

  if (root.organization !== undefined && root.organization !== null) part(problems, playbookSections.organization, root.organization, ['organization']);

  const stageIds = new Set(entries(problems, root.stages, ['stages'], 'stage', ID_PATTERN).map(([id]) => id));
  if (isRecord(root.stages)) part(problems, playbookSections.stages, root.stages, ['stages']);

  const calendars = new Set(entries(problems, root.holidayCalendars, ['holidayCalendars'], 'holiday calendar', ID_PATTERN).map(([id]) => id));
  part(problems, playbookSections.holidayCalendars, root.holidayCalendars, ['holidayCalendars']);

  const teams = new Map(
    entries(problems, root.teams, ['teams'], 'team', ID_PATTERN).map(([id, raw]) => [id, fields(problems, teamShape, raw, ['teams', id], `team "${id}"`) ?? {}]),
  );
  const people = new Map(
    entries(problems, root.people, ['people'], 'person', PERSON_ID_PATTERN).map(([id, raw]) => [
      id,
      fields(problems, personShape, raw, ['people', id], `person "${id}"`) ?? {},
    ]),
  );

  const index: Index = {
    stageIds,
    teamIds: new Set(teams.keys()),
    teams,
    personIds: new Set(people.keys()),
    people,
    emails: indexEmails(problems, root.people, people),
    calendars,
  };

  checkTeams(problems, index);
  checkPeople(problems, index);

  items(problems, root.admins, ['admins']).forEach((ref, i) => checkPersonRef(problems, index, ref, ['admins', i]));
  if (root.digest !== undefined) {
    part(problems, playbookSections.digest, root.digest, ['digest']);
    if (isRecord(root.digest) && Array.isArray(root.digest.subscribers)) {
      items(problems, root.digest.subscribers, ['digest', 'subscribers']).forEach((ref, i) =>
        checkPersonRef(problems, index, ref, ['digest', 'subscribers', i]),
      );
    }
  }

  if (root.defaults !== undefined) part(problems, playbookSections.defaults, root.defaults, ['defaults']);
  if (isRecord(root.defaults) && isRecord(root.defaults.escalation)) {
    checkChain(problems, index, root.defaults.escalation.chain, ['defaults', 'escalation', 'chain']);
  }
  const packets = new Map<string, Map<string, DraftField | undefined> | undefined>();
  for (const [id, raw] of entries(problems, root.transitions, ['transitions'], 'transition', ID_PATTERN)) {
    packets.set(id, checkTransition(problems, index, id, raw));
  }
  if (root.crm !== undefined && root.crm !== null) checkCrm(problems, index, root.crm, packets);
  if (root.webhooks !== undefined) checkWebhooks(problems, root.webhooks);
}

// ---------------------------------------------------------------------------------------
// Build pass: the file is known to be valid here
// ---------------------------------------------------------------------------------------

function build(file: ParsedPlaybookFile): Playbook {
  const person = personResolver(file.people);
  const teams = buildTeams(file.teams, file.holidayCalendars, person);
  const team = teamFinder(teams);
  const people = buildPeople(file.people, person, team);
  const transitions = buildTransitions(file.transitions, file.defaults, { person, team, people });
  return {
    organization: file.organization,
    admins: file.admins.map(person),
    stages: Object.entries(file.stages).map(([id, name]) => ({ id, name })),
    teams,
    people,
    transitions,
    digest: { day: file.digest.day, time: file.digest.time, subscribers: file.digest.subscribers.map(person) },
    crm: buildCrm(file.crm, person),
    ...(file.webhooks.length ? { webhooks: buildWebhooks(file.webhooks) } : {}),
  };
}
