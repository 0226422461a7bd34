/**
 * Holds a card to what Teams accepts: the official `adaptivecards` parser at schema 1.5 (no parse
 * events, no validation events), plus what that parser does not check — a top-level `version`,
 * TextBlocks with text, misspelled properties, `refresh.userIds` as an array of at most 60 — and
 * the 28 KB payload limit.
 */
import * as AC from 'adaptivecards/dist/adaptivecards.js';
import { MAX_CARD_BYTES, MAX_REFRESH_USERS, type AdaptiveCard } from '../../../blocks/teams/card.js';

const KNOWN: Record<string, readonly string[]> = {
  AdaptiveCard: ['type', '$schema', 'version', 'fallbackText', 'body', 'actions', 'refresh', 'msteams'],
  TextBlock: ['type', 'text', 'wrap', 'weight', 'size', 'color', 'isSubtle', 'spacing', 'style', 'separator'],
  RichTextBlock: ['type', 'inlines', 'spacing', 'separator'],
  TextRun: ['type', 'text', 'weight', 'color', 'isSubtle', 'italic'],
  FactSet: ['type', 'facts'],
  Container: ['type', 'items', 'style', 'spacing', 'separator'],
  ActionSet: ['type', 'actions'],
  'Input.ChoiceSet': ['type', 'id', 'label', 'choices', 'style', 'isRequired', 'errorMessage', 'placeholder', 'value'],
  'Input.Text': ['type', 'id', 'label', 'isMultiline', 'isRequired', 'errorMessage', 'placeholder', 'maxLength'],
  'Action.Execute': ['type', 'title', 'verb', 'data', 'style', 'associatedInputs'],
  'Action.ShowCard': ['type', 'title', 'card'],
  'Action.Submit': ['type', 'title', 'data'],
};

export function validateCard(card: AdaptiveCard): string[] {
  const problems: string[] = [];
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  const parsed = new AC.AdaptiveCard();
  parsed.maxVersion = AC.Versions.v1_5;
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) problems.push(`parse: ${context.getEventAt(i).message}`);
  for (const e of parsed.validateProperties().validationEvents) problems.push(`validate: ${e.message}`);

  if (card.type !== 'AdaptiveCard') problems.push('type must be AdaptiveCard');
  if (card.version !== '1.5') problems.push(`version must be "1.5", got ${JSON.stringify(card.version)}`);
  if (card.$schema !== 'http://adaptivecards.io/schemas/adaptive-card.json') problems.push('$schema missing');
  if (card.refresh !== undefined) {
    if (!Array.isArray(card.refresh.userIds)) problems.push('refresh.userIds must be an array');
    else if (card.refresh.userIds.length > MAX_REFRESH_USERS) problems.push(`refresh.userIds has ${card.refresh.userIds.length} ids (max ${MAX_REFRESH_USERS})`);
    else if (card.refresh.userIds.some((id) => typeof id !== 'string' || !id)) problems.push('refresh.userIds must be non-empty strings');
  }
  const bytes = Buffer.byteLength(JSON.stringify(card), 'utf8');
  if (bytes >= MAX_CARD_BYTES) problems.push(`card is ${bytes} bytes (limit ${MAX_CARD_BYTES})`);
  walk(card, 'card', problems);
  return problems;
}

function walk(node: unknown, path: string, problems: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((n, i) => walk(n, `${path}[${i}]`, problems));
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const obj = node as Record<string, unknown>;
  const type = typeof obj.type === 'string' ? obj.type : undefined;
  if (type && KNOWN[type]) {
    for (const key of Object.keys(obj)) if (!KNOWN[type]!.includes(key)) problems.push(`${path}: unknown property "${key}" on ${type}`);
    if ((type === 'TextBlock' || type === 'TextRun') && (typeof obj.text !== 'string' || !obj.text.trim())) problems.push(`${path}: ${type} without text`);
    if (type === 'Action.Execute' && (typeof obj.verb !== 'string' || !obj.verb)) problems.push(`${path}: Action.Execute without verb`);
  } else if (type && path !== 'card' && !path.endsWith('.data') && !path.includes('.data.')) {
    problems.push(`${path}: element type "${type}" is not one the builders are expected to use`);
  }
  for (const [k, v] of Object.entries(obj)) if (k !== 'data' && k !== 'refresh') walk(v, `${path}.${k}`, problems);
  if (obj.refresh) walk((obj.refresh as { action?: unknown }).action, `${path}.refresh.action`, problems);
}

/** Every string in the card under keys whose text Teams renders as markdown. */
export function markdownTexts(card: unknown): string[] {
  const out: string[] = [];
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (typeof n !== 'object' || n === null) return;
    const o = n as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as { title: string; value: string }[]) out.push(f.title, f.value);
    for (const v of Object.values(o)) visit(v);
  };
  visit(card);
  return out;
}

/** Every TextRun text in the card (literal text). */
export function literalTexts(card: unknown): string[] {
  const out: string[] = [];
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (typeof n !== 'object' || n === null) return;
    const o = n as Record<string, unknown>;
    if (o.type === 'TextRun' && typeof o.text === 'string') out.push(o.text);
    for (const v of Object.values(o)) visit(v);
  };
  visit(card);
  return out;
}
