/**
 * Block Kit → HTML, for the console's preview of the Slack card. Renders what blocks/slack built,
 * block by block, the way Slack draws it: header, section text and fields, context, buttons,
 * dividers, and mrkdwn (*bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, links,
 * mentions, :emoji:). Anything it does not know is shown as such, never dropped silently.
 *
 * Date tokens (`<!date^unix^format|fallback>`) become `<time class="sk-date" data-format>`
 * elements with the fallback text; the browser rewrites them in the viewer's own zone, as Slack
 * does for each reader (public/console.js).
 *
 * Everything that comes from the message is escaped here; the output is safe to insert as HTML.
 */

export interface SlackHtmlContext {
  /** Display name of a Slack user id (mentions), if known. */
  userName(slackUserId: string): string | undefined;
  /** Display name of a Slack channel id, if known. */
  channelName?(channelId: string): string | undefined;
}

type Json = Record<string, unknown>;

/** The shortcodes Baton's builders use (and a few common ones), as Slack shows them. */
const EMOJI: Record<string, string> = {
  alarm_clock: '⏰',
  arrows_counterclockwise: '🔄',
  checkered_flag: '🏁',
  information_source: 'ℹ️',
  large_blue_circle: '🔵',
  large_green_circle: '🟢',
  leftwards_arrow_with_hook: '↩️',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  red_circle: '🔴',
  rotating_light: '🚨',
  tada: '🎉',
  thinking_face: '🤔',
  warning: '⚠️',
  wave: '👋',
  white_check_mark: '✅',
  white_circle: '⚪',
  bell: '🔔',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  eyes: '👀',
  memo: '📝',
  bust_in_silhouette: '👤',
  busts_in_silhouette: '👥',
  calendar: '📆',
  link: '🔗',
  x: '❌',
  heavy_check_mark: '✔️',
};

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Slack escapes exactly these three in message text. */
function decodeSlackEntities(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function emoji(html: string): string {
  return html.replace(/:([a-z0-9_+-]+):/g, (m, name: string) => EMOJI[name] ?? m);
}

const PH_OPEN = '\uE000';
const PH_CLOSE = '\uE001';

/** One line of mrkdwn (no quotes, no fences) → HTML. */
function inline(src: string, ctx: SlackHtmlContext): string {
  const held: string[] = [];
  const hold = (html: string) => `${PH_OPEN}${held.push(html) - 1}${PH_CLOSE}`;
  let s = src.replace(new RegExp(`[${PH_OPEN}${PH_CLOSE}]`, 'g'), '');
  // Code first: nothing inside backticks is formatted or parsed.
  s = s.replace(/`([^`\n]+)`/g, (_m, code: string) => hold(`<code>${escapeHtml(decodeSlackEntities(code))}</code>`));
  // Angle-bracket tokens: user text reaches mrkdwn escaped (&lt;), so a raw "<" opens a token.
  s = s.replace(/<([^<>\n]+)>/g, (_m, inner: string) => hold(token(inner, ctx)));
  s = escapeHtml(decodeSlackEntities(s));
  // Slack's emphasis: markers hug the text and sit at word boundaries.
  s = s.replace(/(^|[^\p{L}\p{N}*])\*(?=\S)([^*\n]*?\S)\*(?![\p{L}\p{N}*])/gu, '$1<b>$2</b>');
  s = s.replace(/(^|[^\p{L}\p{N}_])_(?=\S)([^_\n]*?\S)_(?![\p{L}\p{N}_])/gu, '$1<i>$2</i>');
  s = s.replace(/(^|[^\p{L}\p{N}~])~(?=\S)([^~\n]*?\S)~(?![\p{L}\p{N}~])/gu, '$1<s>$2</s>');
  s = emoji(s);
  const restore = new RegExp(`${PH_OPEN}(\\d+)${PH_CLOSE}`, 'g');
  return s.replace(restore, (_m, i: string) => held[Number(i)] ?? '');
}

/** The inside of `<…>`: a mention, a date, a special mention or a link. */
function token(inner: string, ctx: SlackHtmlContext): string {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = ctx.userName(id) ?? (label ? decodeSlackEntities(label) : id);
    return `<span class="sk-mention" data-user="${escapeHtml(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    const name = ctx.channelName?.(id) ?? (label ? decodeSlackEntities(label) : id);
    return `<span class="sk-mention sk-channel">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('!date^')) {
    const [, unix, format, link] = target.split('^');
    const seconds = Number(unix);
    const fallback = label ? decodeSlackEntities(label) : '';
    if (!Number.isFinite(seconds)) return escapeHtml(fallback);
    const iso = new Date(seconds * 1000).toISOString();
    const time = `<time class="sk-date" datetime="${iso}" data-format="${escapeHtml(format ?? '{date_short}')}" title="${iso}">${escapeHtml(fallback)}</time>`;
    return link && safeUrl(link) ? `<a href="${escapeHtml(link)}" target="_blank" rel="noopener noreferrer">${time}</a>` : time;
  }
  if (target.startsWith('!subteam^')) return `<span class="sk-mention">${escapeHtml(label ? decodeSlackEntities(label) : '@group')}</span>`;
  if (target.startsWith('!')) return `<span class="sk-mention">@${escapeHtml(target.slice(1))}</span>`;
  const url = decodeSlackEntities(target);
  const text = label !== undefined ? decodeSlackEntities(label) : url;
  if (!safeUrl(url)) return escapeHtml(text);
  return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
}

function safeUrl(url: string): boolean {
  return /^(https?:|mailto:)/i.test(url);
}

/** A whole mrkdwn text: fenced code, quote lines, line breaks. */
export function mrkdwnToHtml(src: string, ctx: SlackHtmlContext): string {
  const parts = src.split('```');
  let html = '';
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      html += `<pre class="sk-pre">${escapeHtml(decodeSlackEntities(part.replace(/^\n/, '')))}</pre>`;
      return;
    }
    const text = i % 2 === 1 ? '```' + part : part;
    const lines = text.split('\n');
    let quote: string[] = [];
    const out: string[] = [];
    const flush = () => {
      if (quote.length) out.push(`<blockquote class="sk-quote">${quote.join('<br>')}</blockquote>`);
      quote = [];
    };
    for (const line of lines) {
      // A raw ">" starts a quote; a ">" the user typed arrives as &gt; and stays text.
      const m = /^>\s?(.*)$/.exec(line);
      if (m) {
        quote.push(inline(m[1] ?? '', ctx));
        continue;
      }
      flush();
      out.push(inline(line, ctx));
    }
    flush();
    // Blockquotes are blocks: no extra break around them.
    html += out.reduce((acc, piece, k) => {
      if (k === 0) return piece;
      const prevBlock = out[k - 1]!.startsWith('<blockquote');
      return acc + (prevBlock || piece.startsWith('<blockquote') ? '' : '<br>') + piece;
    }, '');
  });
  return html;
}

function textObject(t: unknown, ctx: SlackHtmlContext): string {
  if (typeof t !== 'object' || t === null) return '';
  const o = t as Json;
  const text = typeof o.text === 'string' ? o.text : '';
  if (o.type === 'mrkdwn') return mrkdwnToHtml(text, ctx);
  const html = escapeHtml(text).replace(/\n/g, '<br>');
  return o.emoji === false ? html : emoji(html);
}

function button(e: Json, ctx: SlackHtmlContext): string {
  const style = e.style === 'primary' ? ' sk-btn-primary' : e.style === 'danger' ? ' sk-btn-danger' : '';
  const attrs = [`data-action-id="${escapeHtml(String(e.action_id ?? ''))}"`, `data-value="${escapeHtml(String(e.value ?? ''))}"`];
  if (typeof e.url === 'string' && safeUrl(e.url)) attrs.push(`data-url="${escapeHtml(e.url)}"`);
  return `<button type="button" class="sk-btn${style}" ${attrs.join(' ')}>${textObject(e.text, ctx)}</button>`;
}

function element(e: unknown, ctx: SlackHtmlContext): string {
  if (typeof e !== 'object' || e === null) return '';
  const o = e as Json;
  switch (o.type) {
    case 'button':
      return button(o, ctx);
    case 'image':
      return typeof o.image_url === 'string' && safeUrl(o.image_url)
        ? `<img class="sk-img-inline" src="${escapeHtml(o.image_url)}" alt="${escapeHtml(String(o.alt_text ?? ''))}">`
        : '';
    case 'mrkdwn':
    case 'plain_text':
      return `<span class="sk-ctx-text">${textObject(o, ctx)}</span>`;
    default:
      return `<span class="sk-unsupported">[${escapeHtml(String(o.type ?? 'element'))}]</span>`;
  }
}

function block(b: unknown, ctx: SlackHtmlContext): string {
  if (typeof b !== 'object' || b === null) return '';
  const o = b as Json;
  const id = typeof o.block_id === 'string' ? ` data-block-id="${escapeHtml(o.block_id)}"` : '';
  switch (o.type) {
    case 'header':
      return `<div class="sk-header"${id}>${textObject(o.text, ctx)}</div>`;
    case 'divider':
      return `<hr class="sk-divider"${id}>`;
    case 'section': {
      const text = o.text ? `<div class="sk-text">${textObject(o.text, ctx)}</div>` : '';
      const fields = Array.isArray(o.fields) ? `<div class="sk-fields">${o.fields.map((f) => `<div class="sk-field">${textObject(f, ctx)}</div>`).join('')}</div>` : '';
      const accessory = o.accessory ? `<div class="sk-accessory">${element(o.accessory, ctx)}</div>` : '';
      return `<div class="sk-section"${id}><div class="sk-section-main">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div class="sk-context"${id}>${Array.isArray(o.elements) ? o.elements.map((e) => element(e, ctx)).join('') : ''}</div>`;
    case 'actions':
      return `<div class="sk-actions"${id}>${Array.isArray(o.elements) ? o.elements.map((e) => element(e, ctx)).join('') : ''}</div>`;
    case 'image':
      return typeof o.image_url === 'string' && safeUrl(o.image_url) ? `<div class="sk-image"${id}><img src="${escapeHtml(o.image_url)}" alt="${escapeHtml(String(o.alt_text ?? ''))}"></div>` : '';
    default:
      return `<div class="sk-unsupported"${id}>[unsupported block: ${escapeHtml(String(o.type ?? '?'))}]</div>`;
  }
}

/** A message's blocks as HTML (the `text` fallback is not shown when there are blocks, as in Slack). */
export function slackMessageHtml(message: { text: string; blocks?: readonly unknown[] }, ctx: SlackHtmlContext): string {
  if (!message.blocks?.length) return `<div class="sk-section"><div class="sk-text">${mrkdwnToHtml(message.text, ctx)}</div></div>`;
  return message.blocks.map((b) => block(b, ctx)).join('');
}
