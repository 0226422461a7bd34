import { z } from 'zod';
import { JSON_DEPTH_LIMIT, jsonNestedDeeperThan, objectsWithForeignLength, safeParseUntrusted } from '../src/untrusted.js';

const hostile = () => ({ length: { toString: {} } });

describe('safeParseUntrusted', () => {
  it('turns the TypeError zod throws on a hostile "length" into an issue at that path', () => {
    const schema = z.object({ name: z.string().min(1), tags: z.array(z.string()).max(3) });
    expect(() => schema.safeParse({ name: hostile(), tags: [] })).toThrow(TypeError);
    const r = safeParseUntrusted(schema, { name: hostile(), tags: hostile() });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['tags', 'expected text or a list, got an object with a "length" field'],
      ['name', 'expected text or a list, got an object with a "length" field'],
    ]);
  });

  it('passes ordinary results through unchanged', () => {
    const schema = z.object({ name: z.string().trim().min(1) });
    expect(safeParseUntrusted(schema, { name: ' Acme ' })).toEqual({ success: true, data: { name: 'Acme' } });
    const bad = safeParseUntrusted(schema, { name: { length: 3 } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['name']);
  });

  it('does not swallow errors that are not TypeErrors', () => {
    const schema = z.string().refine(() => {
      throw new RangeError('boom');
    });
    expect(() => safeParseUntrusted(schema, 'x')).toThrow(RangeError);
  });

  it('finds nested objects and list entries, and stops at depth 8', () => {
    expect(objectsWithForeignLength({ a: [{ b: hostile() }], c: { length: 2 } })).toEqual([['a', 0, 'b']]);
    let deep: unknown = hostile();
    for (let i = 0; i < 10; i++) deep = { x: deep };
    expect(objectsWithForeignLength(deep)).toEqual([]);
  });
});

describe('jsonNestedDeeperThan', () => {
  const nest = (n: number) => '{"a":['.repeat(n) + '1' + ']}'.repeat(n);
  it('counts arrays and objects opened inside one another, as text or bytes', () => {
    expect(JSON_DEPTH_LIMIT).toBe(32);
    expect(jsonNestedDeeperThan(nest(16))).toBe(false); // 32 levels
    expect(jsonNestedDeeperThan(nest(16) + ' ' + nest(16))).toBe(false); // siblings do not add up
    expect(jsonNestedDeeperThan('[' + nest(16) + ']')).toBe(true);
    expect(jsonNestedDeeperThan(Buffer.from('[' + nest(16) + ']'))).toBe(true);
    expect(jsonNestedDeeperThan('[[[', 2)).toBe(true);
    expect(jsonNestedDeeperThan('[[]]', 2)).toBe(false);
  });
  it('ignores brackets inside strings, honouring escaped quotes and backslashes', () => {
    expect(jsonNestedDeeperThan(JSON.stringify({ a: '[[[[{{{{'.repeat(100) }))).toBe(false);
    expect(jsonNestedDeeperThan(JSON.stringify({ a: 'say \"[[[[[[\" then \\', b: '"[[[[[' }), 2)).toBe(false);
    // A backslash before the closing quote is itself escaped: the string ends there and the brackets count.
    expect(jsonNestedDeeperThan('["\\\\",[[[]]]]', 3)).toBe(true);
    expect(jsonNestedDeeperThan(Buffer.from(JSON.stringify({ ü: 'é[[[[😀', '[': ['x'] })), 2)).toBe(false);
  });
});
