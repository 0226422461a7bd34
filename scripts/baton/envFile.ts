/**
 * A .env made from .env.example: every comment kept, so the file still documents each variable,
 * and only the variables init knows set (their commented-out line replaced in place).
 */

/** `# NAME=…` as .env.example writes each variable. */
const COMMENTED_VARIABLE = /^#\s?([A-Z][A-Z0-9_]*)=/;

export function envFromExample(example: string, values: Record<string, string>, header: string): string {
  const pending = new Map(Object.entries(values));
  const lines = example.replace(/\n$/, '').split('\n').map((line) => {
    const name = COMMENTED_VARIABLE.exec(line)?.[1];
    if (name === undefined || !pending.has(name)) return line;
    const value = pending.get(name)!;
    pending.delete(name);
    return `${name}=${envValue(value)}`;
  });
  // A variable .env.example does not name (it would be a new one) still goes in, at the end.
  const extra = [...pending].map(([name, value]) => `${name}=${envValue(value)}`);
  const top = header
    .split('\n')
    .map((l) => `# ${l}`.trimEnd())
    .join('\n');
  return `${top}\n#\n${[...lines, ...extra].join('\n')}\n`;
}

/** Quoted only when it has to be, so both `node --env-file` and a shell's `. ./.env` read it back. */
export function envValue(value: string): string {
  if (/^[A-Za-z0-9_./:@,+=-]*$/.test(value)) return value;
  if (/["\\$`\n]/.test(value)) throw new Error(`cannot write ${JSON.stringify(value)} to .env: it has a quote, backslash, $, backtick or line break`);
  return `"${value}"`;
}
