/**
 * The import graph of bots/, blocks/ and src/ (the generated Prisma client aside): no cycles, and
 * src/ imports nothing from bots/ or blocks/. Static, dynamic and type-only imports all count — a
 * type-only cycle still ties two modules together for every reader and tool.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOTS = ['bots', 'blocks', 'src'];
const SKIP = path.resolve('src/generated');

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.resolve(dir, e.name);
    if (p === SKIP) continue;
    if (e.isDirectory()) tsFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap((r) => tsFiles(r))) {
    const src = fs.readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of src.matchAll(/(?:import|export)[^'"`;]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const target = path.resolve(path.dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, '.ts'));
      if (fs.existsSync(target)) deps.push(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

const rel = (f: string) => path.relative(process.cwd(), f);

describe('the import graph', () => {
  const graph = importGraph();

  it('has no cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' → '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles).toEqual([]);
  });

  it('keeps src/ free of bots/ and blocks/', () => {
    const upward = [...graph].flatMap(([f, deps]) => (rel(f).startsWith('src/') ? deps.filter((d) => !rel(d).startsWith('src/')).map((d) => `${rel(f)} → ${rel(d)}`) : []));
    expect(upward).toEqual([]);
  });
});
