// Guards the architecture by reading imports: shared/ speaks for both sides and imports neither,
// the engine sees no sockets, HTTP or SQL, only the store touches SQLite, the dashboard's browser
// code stands alone (the broker serves it as compiled), and no import cycles.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE_DIRS = ['shared', 'server', 'client', 'dashboard'];

interface Import {
  /** The specifier as written: './codec.js', 'ws', 'node:net'. */
  spec: string;
  /** Repository-relative path of the target for relative imports (with .ts), else undefined. */
  target: string | undefined;
  /** `import type` / `export type`: erased at compile time, so it cannot form a runtime cycle. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  let entries: string[];
  try { entries = readdirSync(abs); } catch { return []; }
  const out: string[] = [];
  for (const e of entries) {
    const rel = join(dir, e);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (e.endsWith('.ts') && !e.endsWith('.d.ts')) out.push(rel.split(sep).join('/'));
  }
  return out;
}

/** Static imports, re-exports, side-effect imports and dynamic import('...') with a literal. */
function importsOf(file: string, text: string): Import[] {
  // Drop comments first so an example in a comment is not taken for an import.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean): void => {
    let target: string | undefined;
    if (spec.startsWith('.')) {
      target = relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
    }
    out.push({ spec, target, typeOnly });
  };
  const fromRe = /\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(fromRe)) {
    const clause = m[3]!;
    // `import { type A, type B } from` is as erased as `import type { A, B } from`.
    const names = /^\{([^}]*)\}$/.exec(clause.trim())?.[1]?.split(',').map((s) => s.trim()).filter(Boolean);
    const allTypes = names !== undefined && names.length > 0 && names.every((n) => n.startsWith('type '));
    add(m[4]!, m[2] !== undefined || allTypes);
  }
  for (const m of code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g)) add(m[1]!, false);
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1]!, false);
  return out;
}

const files = SOURCE_DIRS.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8'))]));

function violations(filter: (file: string) => boolean, forbidden: (imp: Import) => boolean): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    if (!filter(file)) continue;
    for (const imp of imports) if (forbidden(imp)) out.push(`${file} imports ${imp.spec}`);
  }
  return out;
}

/** Every bare module loaded at run time from `start`, with the file that imports it. */
function runtimeClosure(start: string): [string, string][] {
  const seen = new Set<string>([start]);
  const todo = [start];
  const out: [string, string][] = [];
  while (todo.length > 0) {
    const file = todo.pop()!;
    for (const imp of graph.get(file) ?? []) {
      if (imp.typeOnly) continue;
      if (imp.target === undefined) out.push([file, imp.spec]);
      else if (!seen.has(imp.target)) { seen.add(imp.target); todo.push(imp.target); }
    }
  }
  return out;
}

t.test('the import reader finds every form of import', async (t) => {
  const found = importsOf('server/x/a.ts', [
    "import { a } from './a.js';",
    "import type { B } from '../b.js';",
    "import { type C, type D } from './c.js';",
    "export { e } from 'ws';",
    "import 'node:net';",
    "const m = await import('better-sqlite3');",
    "// import { z } from 'fastify';",
    "/* import 'node:http'; */",
  ].join('\n'));
  t.strictSame(found.map((i) => [i.spec, i.typeOnly]).sort(), [
    ['../b.js', true], ['./a.js', false], ['./c.js', true], ['better-sqlite3', false], ['node:net', false], ['ws', false],
  ].sort());
  t.equal(found.find((i) => i.spec === '../b.js')?.target, 'server/b.ts');
});

t.test('there is code to check', async (t) => {
  t.ok(files.some((f) => f.startsWith('shared/')), 'shared/ has files');
  t.ok(files.some((f) => f.startsWith('server/')), 'server/ has files');
});

t.test('shared/ imports neither server/ nor client/', async (t) => {
  t.strictSame(violations((f) => f.startsWith('shared/'), (i) => /^(server|client)\//.test(i.target ?? '')), []);
});

t.test("the dashboard's browser code imports only its own modules, and nothing imports it", async (t) => {
  t.ok(files.some((f) => f.startsWith('dashboard/src/')), 'dashboard/src has files');
  t.strictSame(violations((f) => f.startsWith('dashboard/'), (i) => !(i.target ?? '').startsWith('dashboard/src/')), [], 'served as they are: no packages, no server or client code');
  t.strictSame(violations((f) => !f.startsWith('dashboard/'), (i) => (i.target ?? '').startsWith('dashboard/')), []);
});

t.test('client/ does not import server/', async (t) => {
  t.strictSame(violations((f) => f.startsWith('client/'), (i) => (i.target ?? '').startsWith('server/')), []);
});

t.test('the engine imports no ws, fastify, better-sqlite3, node:net or node:http', async (t) => {
  const banned = /^(ws|fastify|@fastify\/.*|better-sqlite3|(node:)?(net|http|https|http2|tls|dgram))$/;
  t.strictSame(violations((f) => f.startsWith('server/engine/'), (i) => banned.test(i.spec)), []);
  // Nor may it reach them through another module it loads at run time (e.g. a store file).
  const reached: string[] = [];
  for (const file of graph.keys()) {
    if (!file.startsWith('server/engine/')) continue;
    for (const [via, spec] of runtimeClosure(file)) if (banned.test(spec)) reached.push(`${file} loads ${spec} through ${via}`);
  }
  t.strictSame(reached, []);
});

t.test('only server/store/ imports better-sqlite3', async (t) => {
  t.strictSame(violations((f) => !f.startsWith('server/store/'), (i) => i.spec === 'better-sqlite3'), []);
});

t.test('no import cycles among modules (type-only imports excluded: they are erased)', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const imp of graph.get(file) ?? []) {
      if (imp.typeOnly || imp.target === undefined || !graph.has(imp.target)) continue;
      const s = state.get(imp.target);
      if (s === 'visiting') cycles.push([...stack.slice(stack.indexOf(imp.target)), imp.target].join(' -> '));
      else if (s === undefined) visit(imp.target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  t.strictSame(cycles, []);
});

t.test('relative imports resolve to files that exist', async (t) => {
  const missing: string[] = [];
  for (const [file, imports] of graph) {
    for (const imp of imports) if (imp.target?.endsWith(".ts") && !graph.has(imp.target)) missing.push(`${file} imports ${imp.spec}`);
  }
  t.strictSame(missing, []);
});
