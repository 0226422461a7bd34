/**
 * The transitions section: from which team to which, the SLA, nudges and escalation, routing
 * rules and queues, reject reasons; and the defaults section that transitions inherit from.
 * Packet fields and entry criteria are packetFields.ts.
 */
import * as z from 'zod';
import { describeValue, didYouMean, isRecord } from './format.js';
import { buildPacket, checkCriterionField, checkExamplesMeetCriteria, checkPacket, criterionSchema, packetFieldSchema, type DraftField } from './packetFields.js';
import { checkActiveRef, checkPersonRef, checkStageRef, checkTeamRef, resolvePerson, type Index, type PersonResolver } from './people.js';
import { fields, items, part, unknownKeyMessage, type Path, type Problems } from './problems.js';
import { ESCALATION_KEYWORDS, type EscalationTarget, type Person, type QueueMember, type Team, type Transition } from './schema.js';
import { addProblem, durationSchema, ID_PATTERN, idRefSchema, personRefSchema, strict, text } from './values.js';

export const queueMemberSchema = z
  .union(
    [
      personRefSchema,
      strict({
        person: personRefSchema,
        weight: z
          .int({ error: (iss) => (iss.input === undefined ? undefined : `expected a whole number of 1 or more, got ${describeValue(iss.input)}`) })
          .positive()
          .default(1),
      }),
    ],
    { error: (iss) => `expected a person id/email or { person: …, weight: 2 }, got ${describeValue(iss.input)}` },
  )
  .transform((member) => (typeof member === 'string' ? { person: member, weight: 1 } : member));

export const routingRuleSchema = strict({
  name: text('a rule name'),
  when: z.array(criterionSchema).min(1),
  assignTo: personRefSchema.optional(),
  queue: z.array(queueMemberSchema).min(1).optional(),
}).superRefine((rule, ctx) => {
  if ((rule.assignTo === undefined) === (rule.queue === undefined)) {
    addProblem(ctx, 'give a rule either assignTo (one person) or queue (round-robin), not both and not neither');
  }
});

export const routingSchema = strict({
  rules: z.array(routingRuleSchema).default([]),
  /** Omit to round-robin over every active member of the receiving team. */
  queue: z.array(queueMemberSchema).min(1).optional(),
});

export const nudgesSchema = z.array(z.number()).superRefine((points, ctx) => {
  points.forEach((point, index) => {
    const previous = points[index - 1];
    if (!(point > 0 && point < 1)) {
      addProblem(ctx, `must be a fraction of the SLA between 0 and 1 (0.5 = half-way), got ${point}`, [index]);
    } else if (previous !== undefined && point <= previous) {
      addProblem(ctx, `nudge points must go up: ${point} comes after ${previous}`, [index]);
    }
  });
});

/** A duration, or `never` / an empty value to switch the behaviour off; absent means "inherit". */
const optionalDurationSchema = z
  .union([durationSchema, z.null()], {
    error: (iss) => `expected a duration like "4h" or never, got ${describeValue(iss.input)}`,
  })
  .optional();

export const escalationSchema = strict({
  chain: z.array(text('owner_lead, team_lead, function_head or a person id/email')).min(1).optional(),
  repeatEvery: durationSchema.optional(),
  reassignAfter: z
    .preprocess((value) => (typeof value === 'string' && value.trim().toLowerCase() === 'never' ? null : value), optionalDurationSchema),
  restartSlaOnReassign: z.boolean().optional(),
});

export const slaSchema = strict({ accept: durationSchema, firstTouch: durationSchema });

export const rejectReasonsSchema = z
  .record(z.string(), text('a reason label'))
  .refine((reasons) => Object.keys(reasons).length > 0, { error: 'list at least one reason, so a receiver can say why they reject' });

export const transitionShape = {
  name: text('a name').optional(),
  description: z.string().trim().optional(),
  from: idRefSchema,
  to: idRefSchema,
  fromStage: idRefSchema.optional(),
  toStage: idRefSchema.optional(),
  packet: z.record(z.string(), packetFieldSchema).refine((fields) => Object.keys(fields).length > 0, {
    error: 'a handoff packet needs at least one field',
  }),
  entryCriteria: z.array(criterionSchema).default([]),
  sla: slaSchema,
  nudgesAt: nudgesSchema.optional(),
  escalation: escalationSchema.optional(),
  routing: routingSchema.optional(),
  fallbackOwner: personRefSchema.optional(),
  rejectReasons: rejectReasonsSchema,
};
export const transitionSchema = strict(transitionShape);

export const defaultsSchema = strict({
  nudgesAt: nudgesSchema.optional(),
  escalation: escalationSchema.optional(),
});

// ---------------------------------------------------------------------------------------
// Check pass
// ---------------------------------------------------------------------------------------

// Checked piece by piece below, so one bad packet field or rule hides nothing else.
const { packet: _packet, entryCriteria: _criteria, routing: _routing, ...transitionCoreShape } = transitionShape;
const TRANSITION_PARTS = ['packet', 'entryCriteria', 'routing'];

export function checkChain(problems: Problems, index: Index, chain: unknown, path: Path): void {
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
export function checkTransition(problems: Problems, index: Index, id: string, raw: unknown): Map<string, DraftField | undefined> | undefined {
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
    checkActiveRef(problems, index, t.fallbackOwner, [...path, 'fallbackOwner'], 'the fallback owner');
  }

  for (const code of Object.keys(t.rejectReasons ?? {})) {
    if (!ID_PATTERN.test(code)) {
      problems.add([...path, 'rejectReasons', code], `"${code}" is not a valid reason code: use lower-case letters, digits and underscores`);
    }
  }
  return packet;
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
      checkActiveRef(problems, index, rule.assignTo, [...rulePath, 'assignTo'], 'assigned handoffs');
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

const BUILT_IN_NUDGES = [0.5, 0.8];
const BUILT_IN_CHAIN: EscalationTarget[] = ['owner_lead', 'function_head'];

export function buildTransitions(
  transitions: Record<string, z.output<typeof transitionSchema>>,
  defaults: z.output<typeof defaultsSchema>,
  resolve: { person: PersonResolver; team: (id: string) => Team; people: readonly Person[] },
): Transition[] {
  const { person, team, people } = resolve;
  const queue = (members: { person: string; weight: number }[]): QueueMember[] =>
    members.map((m) => ({ personId: person(m.person), weight: m.weight }));
  const defaultEscalation = defaults.escalation ?? {};
  return Object.entries(transitions).map(([id, t]) => {
    const from = team(t.from);
    const to = team(t.to);
    const escalation = { ...defaultEscalation, ...stripUndefined(t.escalation ?? {}) };
    const chain = (escalation.chain ?? null)?.map((step): EscalationTarget =>
      (ESCALATION_KEYWORDS as readonly string[]).includes(step) ? (step as (typeof ESCALATION_KEYWORDS)[number]) : { personId: person(step) },
    );
    return {
      id,
      name: t.name ?? `${from.name} → ${to.name}`,
      description: t.description ?? '',
      fromStage: t.fromStage ?? from.stage,
      toStage: t.toStage ?? to.stage,
      fromTeamId: from.id,
      toTeamId: to.id,
      packet: buildPacket(t.packet),
      entryCriteria: t.entryCriteria,
      sla: { acceptMs: t.sla.accept, firstTouchMs: t.sla.firstTouch },
      nudgesAt: t.nudgesAt ?? defaults.nudgesAt ?? BUILT_IN_NUDGES,
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
}

/** Keys a transition leaves unset must not blank out the defaults when spread over them. */
function stripUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
