import { packetEntries } from '../../blocks/packetText.js';
import type { PacketField } from '../../src/playbook/schema.js';

const field = (key: string, type: PacketField['type'], label = key.toUpperCase()): PacketField => ({ key, label, type, required: false, description: '', example: null });

describe('packetEntries: the one packet presenter (Slack and Teams)', () => {
  const transition = { packet: [field('b', 'string', 'Bee'), field('notes', 'text', 'Notes'), field('ok', 'boolean', 'Consent'), field('tags', 'list', 'Tags'), field('n', 'number'), field('missing', 'string')] };

  it('lists fields in the playbook\'s order with its labels, then unknown keys by key', () => {
    const entries = packetEntries({ packet: { extra: 'x', tags: ['a', 'b'], ok: false, b: 'bee', notes: 'short', n: 0 } }, transition);
    expect(entries.map((e) => [e.key, e.label])).toEqual([
      ['b', 'Bee'],
      ['notes', 'Notes'],
      ['ok', 'Consent'],
      ['tags', 'Tags'],
      ['n', 'N'],
      ['extra', 'extra'],
    ]);
  });

  it('reads booleans Yes/No, numbers as text, lists as items and bullet lines, objects as JSON', () => {
    const [ok, tags, n, obj] = packetEntries({ packet: { ok: true, tags: ['a', 'b'], n: 42, obj: { k: 1 } } }, transition);
    expect(ok).toMatchObject({ text: 'Yes', items: ['Yes'], list: false, long: false, type: 'boolean' });
    expect(tags).toMatchObject({ text: '• a\n• b', items: ['a', 'b'], list: true, long: true, type: 'list' });
    expect(n).toMatchObject({ text: '42', long: false });
    expect(obj).toMatchObject({ key: 'obj', text: '{"k":1}', long: true, type: undefined });
  });

  it('leaves out empty values: absent, null, blank text, empty lists and empty list items', () => {
    const entries = packetEntries({ packet: { b: '   ', notes: null, tags: [], extra: ['', null], n: 0, ok: false, list2: ['x', '', 'y'] } }, transition);
    expect(entries.map((e) => e.key)).toEqual(['ok', 'n', 'list2']);
    expect(entries[2]!.items).toEqual(['x', 'y']);
  });

  it('text fields and long values are long; short strings are not', () => {
    const [b, notes] = packetEntries({ packet: { b: 'x'.repeat(121), notes: 'short' } }, transition);
    expect(b!.long).toBe(true);
    expect(notes!.long).toBe(true);
    expect(packetEntries({ packet: { b: 'short' } }, transition)[0]!.long).toBe(false);
  });

  it('without the transition every key is listed by its key', () => {
    expect(packetEntries({ packet: { a: 'x' } }, undefined)).toEqual([{ key: 'a', label: 'a', type: undefined, list: false, long: false, items: ['x'], text: 'x' }]);
  });
});
