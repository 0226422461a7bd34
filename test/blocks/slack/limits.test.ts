/** The Block Kit limits table, truncation, escaping and the validator that the other tests rely on. */
import { LIMITS, blockKitProblems, chunk, escapeMrkdwn, plain, safeMrkdwn, truncate } from '../../../blocks/slack/limits.js';

describe('truncate', () => {
  it('leaves text that fits alone and cuts the rest to exactly the limit, ending with an ellipsis', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('hello world', 8)).toBe('hello w…');
    expect(truncate('hello world', 8)).toHaveLength(8);
    expect(truncate('abc', 0)).toBe('');
  });
  it('never splits an emoji (a surrogate pair) or an escaped entity', () => {
    const emoji = 'ab😀cd';
    expect(truncate(emoji, 4)).toBe('ab…');
    expect(truncate(escapeMrkdwn('a & b & c'), 7)).toBe('a …'); // "a &amp" would show garbage: the half entity is dropped
    expect(truncate(escapeMrkdwn('a & b & c'), 7)).not.toMatch(/&[a-z]*…/);
  });
});

describe('escapeMrkdwn', () => {
  it('makes mentions, broadcasts and masked links inert', () => {
    expect(escapeMrkdwn('<!channel> <!here> <@U024BE7LH> <#C123|general> <https://evil.example|Click me> & co')).toBe(
      '&lt;!channel&gt; &lt;!here&gt; &lt;@U024BE7LH&gt; &lt;#C123|general&gt; &lt;https://evil.example|Click me&gt; &amp; co',
    );
  });
  it('safeMrkdwn escapes before cutting, so the cut never exposes a bracket', () => {
    const s = safeMrkdwn('<!channel>'.repeat(100), 50);
    expect(s.length).toBeLessThanOrEqual(50);
    expect(s).not.toContain('<');
  });
  it('plain text is cut and never empty', () => {
    expect(plain('', 10).text).toBe('-');
    expect(plain('x'.repeat(200), LIMITS.headerText).text).toHaveLength(LIMITS.headerText);
  });
});

describe('chunk', () => {
  it('splits long text into pieces within the limit, at line breaks or spaces, losing nothing', () => {
    const text = Array.from({ length: 400 }, (_, i) => `line ${i} ${'word '.repeat(i % 7)}`).join('\n');
    const pieces = chunk(text, 500);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(500);
    expect(pieces.join('\n').replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
  });
  it('does not split an entity', () => {
    const pieces = chunk(escapeMrkdwn('&'.repeat(3000)), 101);
    for (const p of pieces) expect(p).toMatch(/^(&amp;)+$/);
  });
});

describe('blockKitProblems', () => {
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const button = (over: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'ok' }, value: 'v', ...over });

  it('passes a valid message', () => {
    expect(blockKitProblems([section('hi'), { type: 'actions', elements: [button()] }], 'message')).toEqual([]);
  });
  it.each([
    ['51 blocks in a message', Array.from({ length: 51 }, () => section('x')), 'message', /51 blocks > 50/],
    ['101 blocks in a modal', Array.from({ length: 101 }, () => section('x')), 'modal', /101 blocks > 100/],
    ['a 3001-char section', [section('x'.repeat(3001))], 'message', /3001 chars > 3000/],
    ['11 fields', [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }], 'message', /11 fields > 10/],
    ['a 2001-char field', [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }], 'message', /2001 chars > 2000/],
    ['a 151-char header', [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }], 'message', /151 chars > 150/],
    ['an mrkdwn header', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], 'message', /plain_text/],
    ['a 76-char button', [{ type: 'actions', elements: [button({ text: { type: 'plain_text', text: 'b'.repeat(76) } })] }], 'message', /76 chars > 75/],
    ['a 2001-char button value', [{ type: 'actions', elements: [button({ value: 'v'.repeat(2001) })] }], 'message', /value: > 2000/],
    ['a 256-char action_id', [{ type: 'actions', elements: [button({ action_id: 'a'.repeat(256) })] }], 'message', /action_id: > 255/],
    ['a 256-char block_id', [{ type: 'divider', block_id: 'b'.repeat(256) }], 'message', /block_id: > 255/],
    ['26 elements in an actions block', [{ type: 'actions', elements: Array.from({ length: 26 }, () => button()) }], 'message', /26 elements/],
    ['11 context elements', [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }], 'message', /11 elements/],
    ['101 options', [{ type: 'input', label: { type: 'plain_text', text: 'l' }, element: { type: 'static_select', action_id: 's', options: Array.from({ length: 101 }, (_, i) => ({ text: { type: 'plain_text', text: 'o' }, value: String(i) })) } }], 'modal', /101 options > 100/],
    ['a 76-char option', [{ type: 'input', label: { type: 'plain_text', text: 'l' }, element: { type: 'static_select', action_id: 's', options: [{ text: { type: 'plain_text', text: 'o'.repeat(76) }, value: 'v' }] } }], 'modal', /76 chars > 75/],
    ['an input in a message', [{ type: 'input', label: { type: 'plain_text', text: 'l' }, element: { type: 'plain_text_input', action_id: 'p' } }], 'message', /only belong in modals/],
  ] as const)('reports %s', (_label, blocks, surface, problem) => {
    expect(blockKitProblems(blocks as unknown as unknown[], surface).join('\n')).toMatch(problem);
  });
  it('checks the modal around the blocks: title, submit, private_metadata', () => {
    const problems = blockKitProblems([section('x')], 'modal', {
      type: 'modal',
      title: { type: 'plain_text', text: 't'.repeat(25) },
      submit: { type: 'plain_text', text: 's'.repeat(25) },
      private_metadata: 'm'.repeat(3001),
    });
    expect(problems.join('\n')).toMatch(/view.title: 25 chars > 24/);
    expect(problems.join('\n')).toMatch(/view.submit: 25 chars > 24/);
    expect(problems.join('\n')).toMatch(/view.private_metadata: > 3000/);
  });
});
