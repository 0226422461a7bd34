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
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { PlaybookError, type ErrorDetail } from '../errors.js';
import { closest, describeValue, didYouMean, isRecord } from './format.js';
import { evaluateEntryCriteria, fieldValueSchema } from './packet.js';
import { safeParseUntrusted } from '../untrusted.js';
import {
  ACCOUNT_FIELDS,
  CRM_DEFAULT_SECRET_ENV,
  CRM_SOURCES,
  ESCALATION_KEYWORDS,
  ID_PATTERN,
  PERSON_ID_PATTERN,
  REQUIRED_MESSAGE,
  criterionSchema,
  crmMappingShape,
  crmSourceShape,
  localDateProblem,
  packetFieldShape,
  personShape,
  playbookFileSchema,
  playbookSections,
  queueMemberSchema,
  rawErrorMap,
  routingRuleSchema,
  teamShape,
  transitionShape,
  type CrmConfig,
  type CrmMapping,
  type CrmPersonSpec,
  type CrmSourceId,
  type CrmValueSpec,
  type EntryCriterion,
  type EscalationTarget,
  type PacketField,
  type ParsedPlaybookFile,
  type Person,
  type Playbook,
  type QueueMember,
  type Team,
  type Transition,
} from './schema.js';

type Path = (string | number)[];
type Shape = Record<string, z.ZodType>;
type Parsed<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

/** Where file-level problems (syntax, empty file, unreadable file) are reported. */
export const FILE_PATH = '(file)';

const BUILT_IN_NUDGES = [0.5, 0.8];
const BUILT_IN_CHAIN: EscalationTarget[] = ['owner_lead', 'function_head'];

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
// Problem collection, with YAML positions
// ---------------------------------------------------------------------------------------

interface Located {
  detail: ErrorDetail;
  offset: number;
}

class Problems {
  private readonly found: Located[] = [];
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  get count(): number {
    return this.found.length;
  }

  add(path: Path, message: string): void {
    const offset = this.locate(path);
    const where = offset === undefined ? '' : `(${this.position(offset)}) `;
    this.found.push({ detail: { path: path.length ? path.join('.') : FILE_PATH, message: `${where}${message}` }, offset: offset ?? -1 });
  }

  syntax(err: YAMLError, text: string): void {
    const offset = err.pos[0];
    let message = err.message.split('\n')[0] ?? err.message;
    if (err.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(text.slice(offset))?.[0].trim().replace(/^["']|["']$/g, '');
      message = `duplicate key "${key ?? ''}": each id or key may appear only once in its section`;
    }
    this.found.push({ detail: { path: FILE_PATH, message: `(${this.position(offset)}) ${message}` }, offset });
  }

  zod(issues: readonly z.core.$ZodIssue[], base: Path): void {
    for (const issue of issues) {
      const path = [...base, ...issue.path.map((seg) => (typeof seg === 'number' ? seg : String(seg)))];
      if (issue.code === 'unrecognized_keys') {
        const allowed = issue.message.startsWith('allowed keys: ') ? issue.message.slice('allowed keys: '.length).split(', ') : [];
        for (const key of issue.keys) this.add([...path, key], unknownKeyMessage(key, allowed));
      } else if (issue.message === REQUIRED_MESSAGE) {
        const key = String(path.at(-1) ?? 'value');
        this.add(path, path.length === 1 ? `required section "${key}" is missing` : `"${key}" is required`);
      } else {
        this.add(path, issue.message);
      }
    }
  }

  error(source: string): PlaybookError {
    // File order reads best; problems without a position (missing sections) come first.
    const sorted = [...this.found].sort((a, b) => a.offset - b.offset);
    return new PlaybookError(source, sorted.map((p) => p.detail));
  }

  private position(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `line ${line}, column ${col}`;
  }

  /**
   * Offset of the deepest node on `path` that exists: the key itself for mapping entries
   * (its value may be empty), the item for list entries. A missing key points at its parent.
   */
  private locate(path: Path): number | undefined {
    let node: unknown = this.doc.contents;
    let offset: number | undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        if (isNode(pair.key)) offset = pair.key.range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (!isNode(item)) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else {
        break;
      }
    }
    return offset;
  }
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const hint = closest(key, allowed);
  if (hint !== undefined) return `unknown key "${key}"; did you mean "${hint}"?`;
  return allowed.length ? `unknown key "${key}" (allowed keys: ${allowed.join(', ')})` : `unknown key "${key}"`;
}

// ---------------------------------------------------------------------------------------
// Lenient parsing helpers for the check pass
// ---------------------------------------------------------------------------------------

function part<T extends z.ZodType>(problems: Problems, schema: T, raw: unknown, path: Path): z.output<T> | undefined {
  const result = safeParseUntrusted(schema, raw, { error: rawErrorMap });
  if (result.success) return result.data;
  problems.zod(result.error.issues, path);
  return undefined;
}

/** Parses each key of a mapping on its own, so a bad value hides nothing else in the entity. */
function fields<S extends Shape>(
  problems: Problems,
  shape: S,
  raw: unknown,
  path: Path,
  what: string,
  checkedElsewhere: readonly string[] = [],
): Parsed<S> | undefined {
  if (!isRecord(raw)) {
    problems.add(path, raw === null || raw === undefined ? `${what} has no settings` : `expected the settings of ${what}, got ${describeValue(raw)}`);
    return undefined;
  }
  const allowed = Object.keys(shape);
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(shape, key) && !checkedElsewhere.includes(key)) {
      problems.add([...path, key], unknownKeyMessage(key, [...allowed, ...checkedElsewhere]));
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of allowed) {
    const schema = shape[key];
    if (schema === undefined) continue;
    const value = part(problems, schema, raw[key], [...path, key]);
    if (value !== undefined) out[key] = value;
  }
  return out as Parsed<S>;
}

/** The entries of a mapping keyed by id, checking each id's spelling. */
function entries(problems: Problems, raw: unknown, path: Path, what: string, pattern: RegExp): [string, unknown][] {
  if (raw === undefined || raw === null) return [];
  if (!isRecord(raw)) {
    problems.add(path, `expected ${what}s keyed by id, got ${describeValue(raw)}`);
    return [];
  }
  for (const id of Object.keys(raw)) {
    if (!pattern.test(id)) {
      const rule = pattern === PERSON_ID_PATTERN ? 'lower-case letters, digits, dots, dashes and underscores' : 'lower-case letters, digits and underscores';
      problems.add([...path, id], `"${id}" is not a valid ${what} id: use ${rule}, starting with a letter`);
    }
  }
  return Object.entries(raw);
}

function items(problems: Problems, raw: unknown, path: Path): unknown[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.add(path, `expected a list, got ${describeValue(raw)}`);
    return [];
  }
  return raw;
}

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

const REQUIRED_SECTIONS = ['organization', 'stages', 'teams', 'people', 'transitions'] as const;
// Checked piece by piece below, so one bad packet field or rule hides nothing else.
const { packet: _packet, entryCriteria: _criteria, routing: _routing, ...transitionCoreShape } = transitionShape;
const TRANSITION_PARTS = ['packet', 'entryCriteria', 'routing'];

type DraftTeam = Parsed<typeof teamShape>;
type DraftPerson = Parsed<typeof personShape>;
/** `exampleOk` is false when the example is missing or does not fit, so criteria checks on it would only repeat that. */
type DraftField = PacketField & { exampleOk: boolean };

/** Everything the cross-reference checks need to know about the file so far. */
interface Index {
  stageIds: Set<string>;
  teamIds: Set<string>;
  teams: Map<string, DraftTeam>;
  personIds: Set<string>;
  people: Map<string, DraftPerson>;
  emails: Map<string, string>;
  calendars: Set<string>;
}

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
}

/** Emails are the ids Slack, Teams and CRMs share, so two people with one email would be ambiguous. */
function indexEmails(problems: Problems, rawPeople: unknown, people: Map<string, DraftPerson>): Map<string, string> {
  const emails = new Map<string, string>();
  for (const [id, person] of people) {
    const raw = isRecord(rawPeople) ? rawPeople[id] : undefined;
    // A person whose email failed validation can still be referenced by what was written.
    const email = person.email ?? (isRecord(raw) && typeof raw.email === 'string' ? raw.email.trim().toLowerCase() : undefined);
    if (email === undefined) continue;
    const first = emails.get(email);
    if (first !== undefined) problems.add(['people', id, 'email'], `email "${email}" is already used by "${first}"; each person needs their own`);
    else emails.set(email, id);
  }
  return emails;
}

function resolvePerson(index: Pick<Index, 'personIds' | 'emails'>, ref: string): string | undefined {
  const trimmed = ref.trim();
  if (trimmed.includes('@')) return index.emails.get(trimmed.toLowerCase());
  return index.personIds.has(trimmed) ? trimmed : undefined;
}

function checkPersonRef(problems: Problems, index: Index, ref: unknown, path: Path): string | undefined {
  if (typeof ref !== 'string' || ref.trim() === '') {
    problems.add(path, `expected a person id or email, got ${describeValue(ref)}`);
    return undefined;
  }
  const id = resolvePerson(index, ref);
  if (id === undefined) {
    const candidates = ref.includes('@') ? index.emails.keys() : index.personIds;
    const hint = didYouMean(ref, candidates);
    problems.add(path, `unknown person "${ref}"${hint || ' (use the id or email of someone under people)'}`);
  }
  return id;
}

function checkActive(problems: Problems, index: Index, id: string | undefined, path: Path, role: string): void {
  if (id !== undefined && index.people.get(id)?.active === false) {
    problems.add(path, `"${id}" is inactive, so cannot be ${role}; pick someone active`);
  }
}

function known(what: string, ids: Iterable<string>): string {
  const list = [...ids];
  return list.length ? ` (${what}: ${list.join(', ')})` : '';
}

function checkTeamRef(problems: Problems, index: Index, ref: string | undefined, path: Path): void {
  if (ref !== undefined && !index.teamIds.has(ref)) {
    problems.add(path, `unknown team "${ref}"${didYouMean(ref, index.teamIds) || known('teams', index.teamIds)}`);
  }
}

function checkStageRef(problems: Problems, index: Index, ref: string | undefined, path: Path): void {
  if (ref !== undefined && !index.stageIds.has(ref)) {
    problems.add(path, `unknown stage "${ref}"${didYouMean(ref, index.stageIds) || known('stages', index.stageIds)}`);
  }
}

function checkTeams(problems: Problems, index: Index): void {
  for (const [id, team] of index.teams) {
    const path = ['teams', id];
    checkStageRef(problems, index, team.stage, [...path, 'stage']);
    if (team.lead !== undefined) {
      checkActive(problems, index, checkPersonRef(problems, index, team.lead, [...path, 'lead']), [...path, 'lead'], 'a team lead');
    }
    if (team.head !== undefined) {
      checkActive(problems, index, checkPersonRef(problems, index, team.head, [...path, 'head']), [...path, 'head'], 'a head of function');
    }
    (team.holidays ?? []).forEach((entry, i) => {
      if (/^\d/.test(entry)) {
        const problem = localDateProblem(entry);
        if (problem) problems.add([...path, 'holidays', i], problem);
      } else if (!index.calendars.has(entry)) {
        const known = [...index.calendars];
        const hint = didYouMean(entry, known);
        problems.add(
          [...path, 'holidays', i],
          hint
            ? `unknown holiday calendar "${entry}"${hint}`
            : `expected a date like 2026-12-25 or a holiday calendar name${known.length ? ` (${known.join(', ')})` : ''}, got "${entry}"`,
        );
      }
    });
  }
}

/** A person's extra accounts (`handles`) are theirs alone too, in any workspace: one account, one person. */
function checkHandles(problems: Problems, index: Index, fields: Record<'slackUserId' | 'teamsUserId' | 'aadObjectId', Map<string, string>>): void {
  const key = (platform: string, value: string) => `${platform}\u0000${platform === 'aad' ? value.toLowerCase() : value}`;
  const owners = new Map<string, string>();
  for (const [platform, field] of [['slack', 'slackUserId'], ['teams', 'teamsUserId'], ['aad', 'aadObjectId']] as const) {
    for (const [value, id] of fields[field]) owners.set(key(platform, value), id);
  }
  for (const [id, person] of index.people) {
    (person.handles ?? []).forEach((h, i) => {
      const owner = owners.get(key(h.platform, h.id));
      if (owner !== undefined && owner !== id) problems.add(['people', id, 'handles', i], `${h.platform} id "${h.id}" is already used by "${owner}"`);
      else owners.set(key(h.platform, h.id), id);
    });
  }
}

function checkPeople(problems: Problems, index: Index): void {
  const seen = { slackUserId: new Map<string, string>(), teamsUserId: new Map<string, string>(), aadObjectId: new Map<string, string>() };
  const managers = new Map<string, string>();
  for (const [id, person] of index.people) {
    const path = ['people', id];
    checkTeamRef(problems, index, person.team, [...path, 'team']);
    if (person.manager !== undefined && person.manager !== null) {
      const managerId = checkPersonRef(problems, index, person.manager, [...path, 'manager']);
      if (managerId === id) problems.add([...path, 'manager'], `"${id}" cannot be their own manager; leave manager empty at the top`);
      else if (managerId !== undefined) managers.set(id, managerId);
    }
    // A chat account that maps to two people would let one act as the other.
    for (const key of ['slackUserId', 'teamsUserId', 'aadObjectId'] as const) {
      const value = person[key];
      if (value === undefined || value === null) continue;
      const first = seen[key].get(value);
      if (first !== undefined) problems.add([...path, key], `${key} "${value}" is already used by "${first}"`);
      else seen[key].set(value, id);
    }
  }
  checkHandles(problems, index, seen);
  // Escalation walks manager chains; a loop would walk forever.
  const reported = new Set<string>();
  for (const start of managers.keys()) {
    const chain: string[] = [start];
    let next = managers.get(start);
    while (next !== undefined && !chain.includes(next)) {
      chain.push(next);
      next = managers.get(next);
    }
    if (next === start && !reported.has(start)) {
      chain.forEach((member) => reported.add(member));
      problems.add(['people', start, 'manager'], `managers form a loop: ${[...chain, start].join(' → ')}`);
    }
  }
}

function checkChain(problems: Problems, index: Index, chain: unknown, path: Path): void {
  if (!Array.isArray(chain)) return;
  chain.forEach((step, i) => {
    if (typeof step === 'string' && (ESCALATION_KEYWORDS as readonly string[]).includes(step)) return;
    if (typeof step !== 'string' || step.trim() === '') return; // the schema reports the type
    if (resolvePerson(index, step) === undefined) {
      const hint = didYouMean(step, [...ESCALATION_KEYWORDS, ...index.personIds]);
      problems.add([...path, i], `unknown escalation step "${step}"${hint || ` (use ${ESCALATION_KEYWORDS.join(', ')} or a person id/email)`}`);
    }
  });
}

/** Returns the transition's packet fields (for the crm section's checks); undefined when unusable. */
function checkTransition(problems: Problems, index: Index, id: string, raw: unknown): Map<string, DraftField | undefined> | undefined {
  const path = ['transitions', id];
  const t = fields(problems, transitionCoreShape, raw, path, `transition "${id}"`, TRANSITION_PARTS);
  if (!t || !isRecord(raw)) return undefined;

  checkTeamRef(problems, index, t.from, [...path, 'from']);
  checkTeamRef(problems, index, t.to, [...path, 'to']);
  checkStageRef(problems, index, t.fromStage, [...path, 'fromStage']);
  checkStageRef(problems, index, t.toStage, [...path, 'toStage']);
  if (t.from !== undefined && t.from === t.to && (t.fromStage ?? t.toStage) === undefined) {
    problems.add([...path, 'to'], 'a handoff must move to another team, or name fromStage and toStage to move between stages');
  }

  const packet = checkPacket(problems, raw.packet, [...path, 'packet']);
  const criteria = items(problems, raw.entryCriteria, [...path, 'entryCriteria']).map((item, i) => {
    const criterion = part(problems, criterionSchema, item, [...path, 'entryCriteria', i]);
    return criterion && checkCriterionField(problems, criterion, packet, [...path, 'entryCriteria', i]) ? criterion : undefined;
  });
  checkExamplesMeetCriteria(problems, packet, criteria, [...path, 'entryCriteria']);

  if (isRecord(raw.escalation)) checkChain(problems, index, raw.escalation.chain, [...path, 'escalation', 'chain']);

  checkRouting(problems, index, raw.routing, packet, [...path, 'routing']);

  if (t.fallbackOwner !== undefined) {
    const owner = checkPersonRef(problems, index, t.fallbackOwner, [...path, 'fallbackOwner']);
    checkActive(problems, index, owner, [...path, 'fallbackOwner'], 'the fallback owner');
  }

  for (const code of Object.keys(t.rejectReasons ?? {})) {
    if (!ID_PATTERN.test(code)) {
      problems.add([...path, 'rejectReasons', code], `"${code}" is not a valid reason code: use lower-case letters, digits and underscores`);
    }
  }
  return packet;
}

// ---------------------------------------------------------------------------------------
// crm: webhook field mappings
// ---------------------------------------------------------------------------------------

type DraftPacket = Map<string, DraftField | undefined> | undefined;

/**
 * A mapping that can never produce an accepted handoff would fail every delivery from the CRM,
 * so it is refused here, where RevOps sees it, rather than in a webhook log.
 */
function checkCrm(problems: Problems, index: Index, raw: unknown, packets: Map<string, DraftPacket>): void {
  if (!isRecord(raw)) {
    problems.add(['crm'], `expected CRM sources (${CRM_SOURCES.join(', ')}), got ${describeValue(raw)}`);
    return;
  }
  for (const key of Object.keys(raw)) {
    if (!(CRM_SOURCES as readonly string[]).includes(key)) problems.add(['crm', key], unknownKeyMessage(key, CRM_SOURCES));
  }
  for (const source of CRM_SOURCES) {
    const rawSource = raw[source];
    if (rawSource === undefined) continue;
    const path = ['crm', source];
    const { transitions: _transitions, ...coreShape } = crmSourceShape;
    const parsed = fields(problems, coreShape, rawSource, path, `crm source "${source}"`, ['transitions']);
    if (!parsed || !isRecord(rawSource)) continue;
    if (rawSource.transitions === undefined || rawSource.transitions === null) {
      problems.add([...path, 'transitions'], '"transitions" is required: map at least one transition, keyed by transition id');
      continue;
    }
    for (const [id, rawMapping] of entries(problems, rawSource.transitions, [...path, 'transitions'], 'transition', ID_PATTERN)) {
      const mappingPath = [...path, 'transitions', id];
      if (!packets.has(id)) {
        const ids = [...packets.keys()];
        problems.add(mappingPath, `unknown transition "${id}"${didYouMean(id, ids) || known('transitions', ids)}`);
        continue;
      }
      checkCrmMapping(problems, index, source, rawMapping, packets.get(id), mappingPath);
    }
  }
}

function checkCrmMapping(problems: Problems, index: Index, source: CrmSourceId, raw: unknown, packet: DraftPacket, path: Path): void {
  const m = fields(problems, crmMappingShape, raw, path, `the ${source} mapping`);
  if (!m || !isRecord(raw)) return;

  const checkPerson = (spec: typeof m.from, at: Path, role: string): void => {
    if (!spec) return;
    if (spec.person !== undefined) checkActive(problems, index, checkPersonRef(problems, index, spec.person, [...at, 'person']), [...at, 'person'], role);
    if (spec.default !== undefined) checkActive(problems, index, checkPersonRef(problems, index, spec.default, [...at, 'default']), [...at, 'default'], role);
    for (const [key, ref] of Object.entries(spec.map ?? {})) {
      checkActive(problems, index, checkPersonRef(problems, index, ref, [...at, 'map', key]), [...at, 'map', key], role);
    }
  };
  checkPerson(m.from, [...path, 'from'], 'the sender of handoffs');
  checkPerson(m.to, [...path, 'to'], 'assigned handoffs');

  if (!packet || !m.packet) return;
  const keys = [...packet.keys()];
  for (const [key, spec] of Object.entries(m.packet)) {
    const fieldPath = [...path, 'packet', key];
    if (!packet.has(key)) {
      problems.add(fieldPath, `no packet field "${key}" in this transition${didYouMean(key, keys) || known('fields', keys)}`);
      continue;
    }
    const field = packet.get(key);
    if (field) checkCrmValue(problems, field, spec, fieldPath);
  }
  for (const [key, field] of packet) {
    if (field?.required && !Object.hasOwn(m.packet, key)) {
      problems.add([...path, 'packet'], `required field "${key}" is not mapped: give it a CRM property, a value or a template`);
    }
  }
}

/** Constants, defaults and map targets are checked against the field now, not on the first delivery. */
function checkCrmValue(problems: Problems, field: DraftField, spec: CrmValueSpec, path: Path): void {
  if (spec.split !== undefined && field.type !== 'list') {
    problems.add([...path, 'split'], `split only applies to list fields; this field's type is ${field.type}`);
  }
  const fits = (value: unknown, at: Path, what: string): void => {
    const candidate = field.type === 'list' && !Array.isArray(value) ? [value] : value;
    const result = fieldValueSchema({ ...field, required: true }).safeParse(typeof candidate === 'number' && field.type !== 'number' ? String(candidate) : candidate);
    if (!result.success) problems.add(at, `${what} does not fit this ${field.type} field: ${result.error.issues[0]?.message ?? 'invalid'}`);
  };
  if (spec.value !== undefined) fits(spec.value, [...path, 'value'], `the value ${describeValue(spec.value)}`);
  if (spec.default !== undefined) fits(spec.default, [...path, 'default'], `the default ${describeValue(spec.default)}`);
  for (const [crmValue, target] of Object.entries(spec.map ?? {})) {
    fits(target, [...path, 'map', crmValue], `${describeValue(target)} (for ${describeValue(crmValue)})`);
  }
}

/**
 * Packet fields one by one; undefined when the packet itself is unusable. A field that is
 * present but broken maps to undefined, so criteria on it are not also called unknown.
 */
function checkPacket(problems: Problems, raw: unknown, path: Path): Map<string, DraftField | undefined> | undefined {
  if (raw === undefined || raw === null) {
    problems.add(path, '"packet" is required: list the fields this handoff must carry');
    return undefined;
  }
  const found = entries(problems, raw, path, 'packet field', ID_PATTERN);
  if (!isRecord(raw)) return undefined;
  if (found.length === 0) problems.add(path, 'a handoff packet needs at least one field');
  const packet = new Map<string, DraftField | undefined>();
  for (const [key, rawField] of found) {
    const fieldPath = [...path, key];
    packet.set(key, undefined);
    const f = fields(problems, packetFieldShape, rawField, fieldPath, `packet field "${key}"`);
    if (!f || f.label === undefined || f.type === undefined || f.description === undefined) continue;
    const field: DraftField = {
      key,
      label: f.label,
      type: f.type,
      required: f.required ?? true,
      description: f.description,
      ...(f.values ? { values: f.values } : {}),
      ...(f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
      example: f.example,
      exampleOk: false,
    };
    if (field.maxLength !== undefined && field.type !== 'text') {
      problems.add([...fieldPath, 'maxLength'], `maxLength only applies to text fields; a ${field.type} field's cap comes from its type`);
      delete field.maxLength;
    }
    if (field.type === 'enum') {
      if (!field.values || field.values.length === 0) {
        problems.add([...fieldPath, 'values'], 'an enum field needs values, e.g. values: [A, B, C]');
        continue;
      }
      const duplicate = field.values.find((v, i) => field.values?.indexOf(v) !== i);
      if (duplicate !== undefined) problems.add([...fieldPath, 'values'], `"${duplicate}" is listed twice`);
    } else if (field.values) {
      problems.add([...fieldPath, 'values'], `values only apply to enum fields; this field's type is ${field.type}`);
    }
    packet.set(key, field);
    if (field.example === undefined) {
      problems.add([...fieldPath, 'example'], '"example" is required: it is shown in the API docs and checked against the field type');
      continue;
    }
    const fits = fieldValueSchema({ ...field, required: true }).safeParse(field.example);
    if (fits.success) field.exampleOk = true;
    else problems.add([...fieldPath, 'example'], `example does not fit this ${field.type} field: ${fits.error.issues[0]?.message ?? 'invalid'}`);
  }
  return packet;
}

type FieldKind = PacketField['type'] | 'account';

/** Where a criterion reads from, and what kind of value lives there. */
function criterionKind(problems: Problems, criterion: EntryCriterion, packet: Map<string, DraftField | undefined> | undefined, path: Path): { kind: FieldKind; field?: DraftField } | undefined {
  const match = /^(packet|account)\.([^.]+)$/.exec(criterion.field);
  if (match?.[1] === 'account' && (ACCOUNT_FIELDS as readonly string[]).includes(match[2] ?? '')) return { kind: 'account' };
  if (match?.[1] === 'packet' && match[2] !== undefined) {
    if (!packet) return undefined;
    const field = packet.get(match[2]);
    if (field) return { kind: field.type, field };
    if (packet.has(match[2])) return undefined;
    const keys = [...packet.keys()];
    problems.add([...path, 'field'], `no packet field "${match[2]}" in this transition${didYouMean(match[2], keys) || known('fields', keys)}`);
    return undefined;
  }
  problems.add(
    [...path, 'field'],
    `expected packet.<field> or account.<${ACCOUNT_FIELDS.join('|')}>, got "${criterion.field}"${match?.[1] === 'account' ? didYouMean(match[2] ?? '', ACCOUNT_FIELDS) : ''}`,
  );
  return undefined;
}

/** Reports a criterion that reads a missing field or compares it with the wrong kind of value; true when sound. */
function checkCriterionField(problems: Problems, criterion: EntryCriterion, packet: Map<string, DraftField | undefined> | undefined, path: Path): boolean {
  const target = criterionKind(problems, criterion, packet, path);
  if (!target) return false;
  const { kind, field } = target;
  const opPath = [...path, criterion.op];
  const subject = field ? `"${field.key}" is ${kind === 'enum' ? 'an' : 'a'} ${kind} field` : `${criterion.field} is text`;
  const report = (at: Path, message: string): false => {
    problems.add(at, message);
    return false;
  };
  switch (criterion.op) {
    case 'exists':
      return true;
    case 'gte':
    case 'lte':
    case 'gt':
    case 'lt':
      if (kind !== 'number' && kind !== 'date') return report(opPath, `"${criterion.op}" compares numbers or dates, but ${subject}`);
      if (kind === 'number' && typeof criterion.value !== 'number') {
        return report(opPath, `expected a number to compare with, got ${describeValue(criterion.value)}`);
      }
      if (kind === 'date' && typeof criterion.value !== 'string') {
        return report(opPath, `expected a date like 2026-01-31 to compare with, got ${describeValue(criterion.value)}`);
      }
      return true;
    case 'matches':
      return kind === 'number' || kind === 'boolean' || kind === 'list' ? report(opPath, `"matches" works on text, but ${subject}`) : true;
    case 'equals':
    case 'notEquals':
    case 'in':
    case 'notIn': {
      if (kind === 'list') return report(opPath, `"${criterion.op}" does not work on a list field; use exists`);
      const values = Array.isArray(criterion.value) ? criterion.value : [criterion.value];
      let sound = true;
      values.forEach((value, i) => {
        const problem = valueMismatch(kind, field, value);
        if (problem) sound = report(Array.isArray(criterion.value) ? [...opPath, i] : opPath, problem);
      });
      return sound;
    }
  }
}

function valueMismatch(kind: FieldKind, field: DraftField | undefined, value: unknown): string | undefined {
  switch (kind) {
    case 'enum':
      return field?.values?.includes(String(value)) && typeof value === 'string'
        ? undefined
        : `${describeValue(value)} is not one of this field's values (${field?.values?.join(', ') ?? ''})`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false for a boolean field, got ${describeValue(value)}`;
    case 'number':
      return typeof value === 'number' ? undefined : `expected a number for a number field, got ${describeValue(value)}`;
    default:
      return typeof value === 'string' ? undefined : `expected text for a ${kind === 'account' ? 'text' : kind} field, got ${describeValue(value)}`;
  }
}

/** The API example is built from the field examples; a handoff built from it must be accepted. */
function checkExamplesMeetCriteria(problems: Problems, packet: Map<string, DraftField | undefined> | undefined, criteria: (EntryCriterion | undefined)[], path: Path): void {
  if (!packet) return;
  const examples = Object.fromEntries([...packet].map(([key, f]) => [key, f?.example]));
  criteria.forEach((criterion, i) => {
    const field = criterion?.field.startsWith('packet.') ? packet.get(criterion.field.slice('packet.'.length)) : undefined;
    // Unsound criteria and unusable examples are reported already; judging them here would only repeat it.
    if (!criterion || !field?.exampleOk) return;
    if (evaluateEntryCriteria([criterion], { packet: examples, account: { name: 'example' } }).length > 0) {
      problems.add(
        [...path, i],
        `the example of "${field.key}" (${describeValue(field.example)}) does not meet this criterion (${criterion.message}); fix the example or the criterion`,
      );
    }
  });
}

/** `shapeReported`: the members' own format was already checked as part of their rule. */
function checkQueue(problems: Problems, index: Index, raw: unknown, path: Path, shapeReported = false): void {
  const seen = new Set<string>();
  items(problems, raw, path).forEach((item, i) => {
    const member = shapeReported ? queueMemberSchema.safeParse(item).data : part(problems, queueMemberSchema, item, [...path, i]);
    if (!member) return;
    const memberPath = isRecord(item) ? [...path, i, 'person'] : [...path, i];
    const id = checkPersonRef(problems, index, member.person, memberPath);
    if (id === undefined) return;
    if (seen.has(id)) problems.add(memberPath, `"${id}" is in this queue twice; give them a higher weight instead`);
    seen.add(id);
  });
}

function checkRouting(problems: Problems, index: Index, raw: unknown, packet: Map<string, DraftField | undefined> | undefined, path: Path): void {
  if (raw === undefined) return;
  if (!isRecord(raw)) {
    problems.add(path, `expected routing settings (rules, queue), got ${describeValue(raw)}`);
    return;
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'rules' && key !== 'queue') problems.add([...path, key], unknownKeyMessage(key, ['rules', 'queue']));
  }
  const names = new Set<string>();
  items(problems, raw.rules, [...path, 'rules']).forEach((item, i) => {
    const rulePath = [...path, 'rules', i];
    const rule = part(problems, routingRuleSchema, item, rulePath);
    if (!rule || !isRecord(item)) return;
    // The router keeps a rule's round-robin position under its name.
    if (names.has(rule.name)) problems.add([...rulePath, 'name'], `another rule of this transition is already called "${rule.name}"; rule names must be unique`);
    names.add(rule.name);
    rule.when.forEach((criterion, j) => checkCriterionField(problems, criterion, packet, [...rulePath, 'when', j]));
    if (rule.assignTo !== undefined) {
      checkActive(problems, index, checkPersonRef(problems, index, rule.assignTo, [...rulePath, 'assignTo']), [...rulePath, 'assignTo'], 'assigned handoffs');
    }
    if (item.queue !== undefined) checkQueue(problems, index, item.queue, [...rulePath, 'queue'], true);
  });
  if (raw.queue !== undefined) {
    if (Array.isArray(raw.queue) && raw.queue.length === 0) problems.add([...path, 'queue'], 'needs at least 1 entry; leave queue out to use the whole team');
    checkQueue(problems, index, raw.queue, [...path, 'queue']);
  }
}

// ---------------------------------------------------------------------------------------
// Build pass: the file is known to be valid here
// ---------------------------------------------------------------------------------------

function build(file: ParsedPlaybookFile): Playbook {
  const personIds = new Set(Object.keys(file.people));
  const emails = new Map(Object.entries(file.people).map(([id, p]) => [p.email, id]));
  const person = (ref: string): string => {
    const id = resolvePerson({ personIds, emails }, ref);
    if (id === undefined) throw new Error(`unresolved person "${ref}" after the check pass`);
    return id;
  };
  const queue = (members: { person: string; weight: number }[]): QueueMember[] =>
    members.map((m) => ({ personId: person(m.person), weight: m.weight }));

  const teams: Team[] = Object.entries(file.teams).map(([id, t]) => {
    const holidays = new Set<string>();
    for (const entry of t.holidays) {
      for (const date of file.holidayCalendars[entry] ?? [entry]) holidays.add(date);
    }
    return {
      id,
      name: t.name,
      stage: t.stage,
      calendar: { timeZone: t.timeZone, weekly: t.businessHours, holidays: [...holidays].sort() },
      leadId: person(t.lead),
      headId: person(t.head ?? t.lead),
      channels: { ...(t.channels?.slack ? { slack: t.channels.slack } : {}), ...(t.channels?.teams ? { teams: t.channels.teams } : {}) },
    };
  });
  const teamById = new Map(teams.map((t) => [t.id, t]));
  const team = (id: string): Team => {
    const found = teamById.get(id);
    if (!found) throw new Error(`unresolved team "${id}" after the check pass`);
    return found;
  };

  const people: Person[] = Object.entries(file.people).map(([id, p]) => ({
    id,
    name: p.name,
    email: p.email,
    teamId: p.team,
    managerId: p.manager ? person(p.manager) : null,
    slackUserId: p.slackUserId ?? null,
    teamsUserId: p.teamsUserId ?? null,
    aadObjectId: p.aadObjectId ?? null,
    ...(p.handles?.length ? { handles: p.handles.map((h) => ({ platform: h.platform, ...(h.workspace ? { workspace: h.workspace } : {}), id: h.id })) } : {}),
    timeZone: p.timeZone ?? team(p.team).calendar.timeZone,
    awayUntil: p.awayUntil ?? null,
    active: p.active,
  }));

  const defaults = file.defaults.escalation ?? {};
  const transitions: Transition[] = Object.entries(file.transitions).map(([id, t]) => {
    const from = team(t.from);
    const to = team(t.to);
    const escalation = { ...defaults, ...stripUndefined(t.escalation ?? {}) };
    const chain = (escalation.chain ?? null)?.map((step): EscalationTarget =>
      (ESCALATION_KEYWORDS as readonly string[]).includes(step) ? (step as (typeof ESCALATION_KEYWORDS)[number]) : { personId: person(step) },
    );
    const packet: PacketField[] = Object.entries(t.packet).map(([key, f]) => ({
      key,
      label: f.label,
      type: f.type,
      required: f.required,
      description: f.description,
      ...(f.type === 'enum' && f.values ? { values: f.values } : {}),
      ...(f.type === 'text' && f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
      example: f.example,
    }));
    return {
      id,
      name: t.name ?? `${from.name} → ${to.name}`,
      description: t.description ?? '',
      fromStage: t.fromStage ?? from.stage,
      toStage: t.toStage ?? to.stage,
      fromTeamId: from.id,
      toTeamId: to.id,
      packet,
      entryCriteria: t.entryCriteria,
      sla: { acceptMs: t.sla.accept, firstTouchMs: t.sla.firstTouch },
      nudgesAt: t.nudgesAt ?? file.defaults.nudgesAt ?? BUILT_IN_NUDGES,
      escalation: {
        chain: chain ?? BUILT_IN_CHAIN,
        // Without a setting, escalate again after as long as the owner had to accept.
        repeatEveryMs: escalation.repeatEvery ?? t.sla.accept,
        reassignAfterMs: escalation.reassignAfter ?? null,
        restartSlaOnReassign: escalation.restartSlaOnReassign ?? true,
      },
      routing: {
        rules: (t.routing?.rules ?? []).map((rule) => ({
          name: rule.name,
          when: rule.when,
          ...(rule.assignTo !== undefined ? { assignTo: person(rule.assignTo) } : {}),
          ...(rule.queue !== undefined ? { queue: queue(rule.queue) } : {}),
        })),
        queue: t.routing?.queue
          ? queue(t.routing.queue)
          : people.filter((p) => p.teamId === to.id && p.active).map((p) => ({ personId: p.id, weight: 1 })),
      },
      fallbackOwnerId: t.fallbackOwner ? person(t.fallbackOwner) : to.leadId,
      rejectReasons: Object.entries(t.rejectReasons).map(([code, label]) => ({ code, label })),
    };
  });

  const crmPerson = (spec: { person?: string | undefined; property?: string | undefined; map?: Record<string, string> | undefined; default?: string | undefined }): CrmPersonSpec => ({
    ...(spec.person !== undefined ? { personId: person(spec.person) } : {}),
    ...(spec.property !== undefined ? { property: spec.property } : {}),
    ...(spec.map !== undefined ? { map: Object.fromEntries(Object.entries(spec.map).map(([k, ref]) => [k.trim().toLowerCase(), person(ref)])) } : {}),
    ...(spec.default !== undefined ? { defaultId: person(spec.default) } : {}),
  });
  // CRM values are matched case-insensitively ("Closed Won" = "closed won"), so map keys are stored lower-cased.
  const crmValue = (spec: CrmValueSpec): CrmValueSpec =>
    spec.map ? { ...spec, map: Object.fromEntries(Object.entries(spec.map).map(([k, v]) => [k.trim().toLowerCase(), v])) } : spec;
  const crm: CrmConfig = {};
  for (const source of CRM_SOURCES) {
    const raw = file.crm?.[source];
    if (!raw) continue;
    crm[source] = {
      secretEnv: raw.secretEnv ?? CRM_DEFAULT_SECRET_ENV[source],
      mappings: Object.entries(raw.transitions).map(
        ([transitionId, m]): CrmMapping => ({
          transitionId,
          objectType: m.objectType?.toLowerCase() ?? null,
          when: Object.entries(m.when ?? {}).map(([property, v]) => ({ property, values: Array.isArray(v) ? v : [v] })),
          recordId: m.recordId ?? null,
          from: crmPerson(m.from),
          to: m.to ? crmPerson(m.to) : null,
          account: Object.fromEntries(Object.entries(m.account).flatMap(([k, spec]) => (spec ? [[k, crmValue(spec)]] : []))) as CrmMapping['account'],
          packet: Object.fromEntries(Object.entries(m.packet).map(([k, spec]) => [k, crmValue(spec)])),
        }),
      ),
    };
  }

  return {
    organization: file.organization,
    admins: file.admins.map(person),
    stages: Object.entries(file.stages).map(([id, name]) => ({ id, name })),
    teams,
    people,
    transitions,
    digest: { day: file.digest.day, time: file.digest.time, subscribers: file.digest.subscribers.map(person) },
    crm,
  };
}

/** Keys a transition leaves unset must not blank out the defaults when spread over them. */
function stripUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
