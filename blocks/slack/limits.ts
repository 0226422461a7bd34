/**
 * Block Kit limits, escaping and a validator. No npm package checks Block Kit JSON against
 * Slack's limits, and Slack answers `invalid_blocks` for the whole message when one text is a
 * character too long — so every builder cuts with `truncate`, and tests (and the fake Slack
 * server) run `blockKitProblems` over what we send.
 */

/** Slack's documented limits (characters unless noted). */
export const LIMITS = {
  messageBlocks: 50,
  modalBlocks: 100,
  homeBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  callbackId: 255,
  modalTitle: 24,
  modalSubmit: 24,
  modalClose: 24,
  privateMetadata: 3000,
  optionText: 75,
  optionValue: 150,
  options: 100,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  plainTextInputMax: 3000,
  /** chat.postMessage `text` (the notification fallback); Slack truncates at 40 000, we stay far below. */
  messageText: 3000,
} as const;

const ELLIPSIS = '…';

/**
 * Cuts `text` to at most `max` characters, ending with an ellipsis when cut. Never splits a
 * surrogate pair (an emoji) or an HTML entity made by `escapeMrkdwn` (a half `&amp;` would show
 * as garbage), so escape first, then truncate.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = text.slice(0, max - ELLIPSIS.length);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  cut = cut.replace(/&[a-z]{0,4}$/, '');
  return cut + ELLIPSIS;
}

/**
 * Makes user-supplied text inert in mrkdwn: `<!channel>`, `<@U…>`, `<#C…>` and `<https://…|label>`
 * only have meaning inside angle brackets, and Slack's own escaping of `&`, `<` and `>` is the
 * documented way to show them literally. Formatting characters (`*`, `_`) are left alone: they can
 * change emphasis but cannot ping anyone or hide a link.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escape, then cut to `max`. */
export function safeMrkdwn(text: string, max: number): string {
  return truncate(escapeMrkdwn(text), max);
}

/** Plain text needs no escaping (Slack does not parse it), only cutting. Empty text is not allowed. */
export function plain(text: string, max: number): { type: 'plain_text'; text: string; emoji: true } {
  const t = truncate(text.replace(/\s+/g, ' ').trim(), max);
  return { type: 'plain_text', text: t || '-', emoji: true };
}

/** Splits long text into chunks of at most `max` characters (for modals that show values in full). */
export function chunk(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    // Prefer a line break, then a space, so words survive; never split an entity or a surrogate pair.
    let at = rest.lastIndexOf('\n', max);
    if (at < max / 2) at = rest.lastIndexOf(' ', max);
    if (at < max / 2) at = max;
    let piece = rest.slice(0, at);
    const entity = /&[a-z]{0,4}$/.exec(piece);
    if (entity) piece = piece.slice(0, entity.index);
    const last = piece.charCodeAt(piece.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) piece = piece.slice(0, -1);
    out.push(piece);
    rest = rest.slice(piece.length).replace(/^[ \n]/, '');
  }
  if (rest.length || !out.length) out.push(rest);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation: walks the JSON we send and reports every limit it breaks.

export type Surface = 'message' | 'modal' | 'home';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every limit broken by `blocks` (and by the view around them), as `path: problem` strings. */
export function blockKitProblems(blocks: readonly unknown[], surface: Surface, view?: Json): string[] {
  const problems: string[] = [];
  const p = (path: string, msg: string) => problems.push(`${path}: ${msg}`);
  const maxBlocks = surface === 'message' ? LIMITS.messageBlocks : surface === 'modal' ? LIMITS.modalBlocks : LIMITS.homeBlocks;
  if (blocks.length > maxBlocks) p('blocks', `${blocks.length} blocks > ${maxBlocks}`);
  const text = (path: string, t: unknown, max: number, required = true) => {
    if (!isObj(t)) {
      if (required) p(path, 'missing text object');
      return;
    }
    if (typeof t.text !== 'string') return p(path, 'text is not a string');
    if (required && t.text.length === 0) p(path, 'empty text');
    if (t.text.length > max) p(path, `${t.text.length} chars > ${max}`);
  };
  const option = (path: string, o: unknown) => {
    if (!isObj(o)) return p(path, 'not an option');
    text(`${path}.text`, o.text, LIMITS.optionText);
    if (typeof o.value !== 'string' || o.value.length > LIMITS.optionValue) p(`${path}.value`, `value missing or > ${LIMITS.optionValue}`);
  };
  const element = (path: string, e: unknown) => {
    if (!isObj(e)) return p(path, 'not an element');
    if (typeof e.action_id === 'string' && e.action_id.length > LIMITS.actionId) p(`${path}.action_id`, `> ${LIMITS.actionId}`);
    if (e.type === 'button') {
      text(`${path}.text`, e.text, LIMITS.buttonText);
      if (typeof e.value === 'string' && e.value.length > LIMITS.buttonValue) p(`${path}.value`, `> ${LIMITS.buttonValue}`);
    }
    if (e.type === 'static_select') {
      const opts = Array.isArray(e.options) ? e.options : [];
      if (opts.length > LIMITS.options) p(`${path}.options`, `${opts.length} options > ${LIMITS.options}`);
      if (opts.length === 0 && !Array.isArray(e.option_groups)) p(`${path}.options`, 'a static select needs options');
      opts.forEach((o, i) => option(`${path}.options[${i}]`, o));
      if (e.initial_option !== undefined) option(`${path}.initial_option`, e.initial_option);
    }
    if (e.placeholder !== undefined) text(`${path}.placeholder`, e.placeholder, LIMITS.placeholder);
    if (e.type === 'plain_text_input' && typeof e.max_length === 'number' && e.max_length > LIMITS.plainTextInputMax) p(`${path}.max_length`, `> ${LIMITS.plainTextInputMax}`);
  };
  blocks.forEach((b, i) => {
    const path = `blocks[${i}]`;
    if (!isObj(b)) return p(path, 'not a block');
    if (typeof b.block_id === 'string' && b.block_id.length > LIMITS.blockId) p(`${path}.block_id`, `> ${LIMITS.blockId}`);
    switch (b.type) {
      case 'header':
        text(`${path}.text`, b.text, LIMITS.headerText);
        if (isObj(b.text) && b.text.type !== 'plain_text') p(`${path}.text`, 'header text must be plain_text');
        break;
      case 'section': {
        const fields = Array.isArray(b.fields) ? b.fields : undefined;
        if (b.text === undefined && !fields) p(path, 'a section needs text or fields');
        if (b.text !== undefined) text(`${path}.text`, b.text, LIMITS.sectionText);
        if (fields) {
          if (fields.length > LIMITS.sectionFields) p(`${path}.fields`, `${fields.length} fields > ${LIMITS.sectionFields}`);
          fields.forEach((f, j) => text(`${path}.fields[${j}]`, f, LIMITS.sectionFieldText));
        }
        if (b.accessory !== undefined) element(`${path}.accessory`, b.accessory);
        break;
      }
      case 'context': {
        const els = Array.isArray(b.elements) ? b.elements : [];
        if (els.length === 0 || els.length > LIMITS.contextElements) p(`${path}.elements`, `${els.length} elements (1–${LIMITS.contextElements})`);
        els.forEach((e, j) => text(`${path}.elements[${j}]`, e, LIMITS.contextText));
        break;
      }
      case 'actions': {
        const els = Array.isArray(b.elements) ? b.elements : [];
        if (els.length === 0 || els.length > LIMITS.actionsElements) p(`${path}.elements`, `${els.length} elements (1–${LIMITS.actionsElements})`);
        els.forEach((e, j) => element(`${path}.elements[${j}]`, e));
        break;
      }
      case 'input':
        if (surface === 'message') p(path, 'input blocks only belong in modals');
        text(`${path}.label`, b.label, LIMITS.inputLabel);
        if (b.hint !== undefined) text(`${path}.hint`, b.hint, LIMITS.inputHint);
        element(`${path}.element`, b.element);
        break;
      case 'divider':
        break;
      default:
        p(path, `unexpected block type ${String(b.type)}`);
    }
  });
  if (view) {
    if (view.type === 'modal') {
      text('view.title', view.title, LIMITS.modalTitle);
      if (view.submit !== undefined) text('view.submit', view.submit, LIMITS.modalSubmit);
      if (view.close !== undefined) text('view.close', view.close, LIMITS.modalClose);
    }
    if (typeof view.private_metadata === 'string' && view.private_metadata.length > LIMITS.privateMetadata) p('view.private_metadata', `> ${LIMITS.privateMetadata}`);
    if (typeof view.callback_id === 'string' && view.callback_id.length > LIMITS.callbackId) p('view.callback_id', `> ${LIMITS.callbackId}`);
  }
  return problems;
}
