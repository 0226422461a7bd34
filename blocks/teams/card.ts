/**
 * Adaptive Card primitives for Teams: the element types we use (schema 1.5), text that can never
 * be read as markup, localised date tokens, and the size budget every card is fitted into.
 *
 * Text safety rule: anything that did not come from Baton itself or the playbook (packet values,
 * account names from the CRM, notes people typed) goes into a `TextRun` inside a `RichTextBlock`.
 * The Adaptive Cards spec says RichTextBlock does not process markdown, so `**x**` or
 * `[click](http://evil)` shows literally. TextBlock and FactSet text *is* markdown in Teams, so
 * they only carry Baton's own wording, playbook names (through `md`) and date tokens.
 */

export const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const CARD_VERSION = '1.5';
/** Teams refuses a message whose card payload is over about 28 KB. */
export const MAX_CARD_BYTES = 28 * 1024;
/** What builders aim for, leaving room for the activity around the card. */
export const CARD_BUDGET_BYTES = 26 * 1024;
/** Teams shows `refresh` (per-user views) to at most 60 users. */
export const MAX_REFRESH_USERS = 60;

export type TextColor = 'Default' | 'Dark' | 'Light' | 'Accent' | 'Good' | 'Warning' | 'Attention';
export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap?: boolean;
  weight?: 'Default' | 'Lighter' | 'Bolder';
  size?: 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge';
  color?: TextColor;
  isSubtle?: boolean;
  spacing?: 'None' | 'Small' | 'Default' | 'Medium' | 'Large';
  style?: 'default' | 'heading';
  separator?: boolean;
}

export interface TextRun {
  type: 'TextRun';
  text: string;
  weight?: 'Default' | 'Lighter' | 'Bolder';
  color?: TextColor;
  isSubtle?: boolean;
  italic?: boolean;
}

export interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  spacing?: TextBlock['spacing'];
  separator?: boolean;
}

export interface FactSet {
  type: 'FactSet';
  facts: { title: string; value: string }[];
}

export interface Container {
  type: 'Container';
  items: CardElement[];
  style?: ContainerStyle;
  spacing?: TextBlock['spacing'];
  separator?: boolean;
}

export interface ActionSet {
  type: 'ActionSet';
  actions: ActionElement[];
}

export interface InputChoiceSet {
  type: 'Input.ChoiceSet';
  id: string;
  label: string;
  choices: { title: string; value: string }[];
  style?: 'compact' | 'expanded' | 'filtered';
  isRequired?: boolean;
  errorMessage?: string;
  placeholder?: string;
  value?: string;
}

export interface InputText {
  type: 'Input.Text';
  id: string;
  label: string;
  isMultiline?: boolean;
  isRequired?: boolean;
  errorMessage?: string;
  placeholder?: string;
  maxLength?: number;
}

export type CardElement = TextBlock | RichTextBlock | FactSet | Container | ActionSet | InputChoiceSet | InputText;

export interface ExecuteAction {
  type: 'Action.Execute';
  title: string;
  verb: string;
  data: Record<string, unknown>;
  style?: 'default' | 'positive' | 'destructive';
  associatedInputs?: 'auto' | 'none';
}

export interface ShowCardAction {
  type: 'Action.ShowCard';
  title: string;
  card: SubCard;
}

/**
 * Action.Submit that Teams turns into a message from the user (`messageBack`), e.g. "show 42".
 * `command` arrives as the activity's `value`, which tells the bot the message is for it even in
 * a channel, where a click carries no @mention.
 */
export interface SubmitAction {
  type: 'Action.Submit';
  title: string;
  data: { msteams: { type: 'messageBack'; text: string; displayText: string }; command: string };
}

export type ActionElement = ExecuteAction | ShowCardAction | SubmitAction;

/** The card inside an Action.ShowCard. */
export interface SubCard {
  type: 'AdaptiveCard';
  body: CardElement[];
  actions?: ActionElement[];
}

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: typeof CARD_SCHEMA;
  version: typeof CARD_VERSION;
  /** Shown where the card cannot be rendered (notifications, old clients). */
  fallbackText?: string;
  body: CardElement[];
  actions?: ActionElement[];
  refresh?: { action: ExecuteAction; userIds: string[] };
  msteams?: { width: 'Full' };
}

export function adaptiveCard(parts: Omit<AdaptiveCard, 'type' | '$schema' | 'version'>): AdaptiveCard {
  return { type: 'AdaptiveCard', $schema: CARD_SCHEMA, version: CARD_VERSION, ...parts };
}

// -------------------------------------------------------------------------------------------------
// Text

/**
 * Neutralises what a host might still interpret inside plain text: `{{DATE(…)}}` functions and
 * tag-like `<at>` mentions. A zero-width space splits the token without changing what people read.
 */
export function plain(text: string): string {
  return text.replace(/\{\{/g, '{\u200B{').replace(/<(?=[A-Za-z/!?])/g, '<\u200B');
}

/**
 * For playbook wording (people's names, field labels, reason labels) that goes into a TextBlock,
 * which Teams renders as markdown. The playbook is trusted (RevOps edits it, Baton validates it),
 * so this only defuses what could mislead — links, tags, date functions, list markers — with a
 * zero-width space. Text from outside Baton never comes here: it goes into a TextRun.
 */
export function md(text: string): string {
  return plain(text)
    .replace(/\]\(/g, ']\u200B(')
    .replace(/^(\s*)([-+>#]|\d+\.)(?=\s)/gm, '$1\u200B$2');
}

/** A run of literal text (see the safety rule at the top of this file). */
export function run(text: string, style: Omit<TextRun, 'type' | 'text'> = {}): TextRun {
  return { type: 'TextRun', text: plain(text), ...style };
}

export function richText(inlines: TextRun[], extra: Omit<RichTextBlock, 'type' | 'inlines'> = {}): RichTextBlock {
  return { type: 'RichTextBlock', inlines, ...extra };
}

export function textBlock(text: string, extra: Omit<TextBlock, 'type' | 'text'> = {}): TextBlock {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

/** "Label: value" with the value literal. */
export function labelled(label: string, value: string, extra: Omit<RichTextBlock, 'type' | 'inlines'> = {}): RichTextBlock {
  return richText([run(`${label}: `, { weight: 'Bolder' }), run(value)], { spacing: 'Small', ...extra });
}

/** Shortens to `max` characters (counting the ellipsis), on a code-point boundary. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - 1)).join('').trimEnd() + '…';
}

/**
 * A localised date-time: Teams renders `{{DATE()}}`/`{{TIME()}}` in each reader's own zone and
 * locale. They need RFC 3339 without fractional seconds, or the raw token is shown.
 */
export function localDateTime(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const stamp = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `{{DATE(${stamp}, SHORT)}} {{TIME(${stamp})}}`;
}

// -------------------------------------------------------------------------------------------------
// Size

export function cardBytes(card: AdaptiveCard): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

/**
 * Builds with the most generous option first and steps down until the card fits the budget.
 * Builders pass their truncation limits as `steps`, from longest to shortest.
 */
export function fitCard<S>(steps: readonly S[], build: (step: S) => AdaptiveCard, budget = CARD_BUDGET_BYTES): AdaptiveCard {
  let card: AdaptiveCard | undefined;
  for (const step of steps) {
    card = build(step);
    if (cardBytes(card) <= budget) return card;
  }
  if (!card) throw new Error('fitCard needs at least one step');
  return card;
}
