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

t.test('the AMQP 0-9-1 codec is pure: it imports only its own files and shared/ (no sockets, no engine, no packages)', async (t) => {
  t.ok(files.some((f) => f.startsWith('server/amqp/codec/')), 'server/amqp/codec has files');
  t.strictSame(violations((f) => f.startsWith('server/amqp/codec/'), (i) => !/^(server\/amqp\/codec|shared)\//.test(i.target ?? '')), []);
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

/** The task layer: what runs on any transport and result backend, through their contracts only. */
const TASK_LAYER = /^client\/(tasks|worker|canvas|results|control|events|beat)\//;
/** What the task layer may import from client/: itself, the app's settings and routing, the two contracts. */
const TASK_LAYER_MAY_IMPORT = /^client\/((tasks|worker|canvas|results|control|events|beat)\/|app\/(?!backends\.ts$|backend-schemes\.ts$)|transport\/transport\.ts$|result-backend\/result-backend\.ts$)/;
/** Clients of a particular broker or store: only their implementations of the contracts may load them. */
const BROKER_CLIENTS = /^(ws|amqplib|amqplib\/.*|redis|ioredis|@redis\/.*)$/;

/**
 * Imports of the task layer that reach past the contracts (type-only imports count too: a type of
 * the Connection is as much a dependency on broker-server as its code).
 */
function taskLayerViolations(g: ReadonlyMap<string, Import[]>): string[] {
  const out: string[] = [];
  for (const [file, imports] of g) {
    if (!TASK_LAYER.test(file)) continue;
    for (const imp of imports) {
      const target = imp.target ?? '';
      if (target.startsWith('client/') && !TASK_LAYER_MAY_IMPORT.test(target)) out.push(`${file} imports ${imp.spec}`);
      else if (imp.target === undefined && BROKER_CLIENTS.test(imp.spec)) out.push(`${file} imports ${imp.spec}`);
    }
  }
  return out;
}

t.test('the task layer depends on the transport and result-backend contracts only', async (t) => {
  t.ok(files.some((f) => TASK_LAYER.test(f)), 'the task layer has files');
  t.ok(files.includes('client/transport/transport.ts') && files.includes('client/result-backend/result-backend.ts'), 'the contracts exist');
  t.strictSame(taskLayerViolations(graph), []);
});

t.test('the task-layer rule catches the Connection, a broker implementation and a broker client, type imports included', async (t) => {
  const probe = (file: string, line: string): string[] => taskLayerViolations(new Map([[file, importsOf(file, line)]]));
  t.strictSame(probe('client/worker/x.ts', "import type { Connection } from '../connection.js';"), ["client/worker/x.ts imports ../connection.js"]);
  t.strictSame(probe('client/canvas/x.ts', "import { Message } from '../message.js';"), ["client/canvas/x.ts imports ../message.js"]);
  t.strictSame(probe('client/results/x.ts', "import type { FinishRequest } from '../task-support.js';"), ["client/results/x.ts imports ../task-support.js"]);
  t.strictSame(probe('client/events/x.ts', "import { BrokerServerTransport } from '../transport/broker-server.js';"), ["client/events/x.ts imports ../transport/broker-server.js"]);
  t.strictSame(probe('client/control/x.ts', "import { BrokerServerResults } from '../result-backend/broker-server.js';"), ["client/control/x.ts imports ../result-backend/broker-server.js"]);
  t.strictSame(probe('client/beat/x.ts', "import { openBackends } from '../app/backends.js';"), ["client/beat/x.ts imports ../app/backends.js"]);
  t.strictSame(probe('client/tasks/x.ts', "import WebSocket from 'ws';"), ["client/tasks/x.ts imports ws"]);
  t.strictSame(probe('client/worker/pools/x.ts', "import amqp from 'amqplib';"), ["client/worker/pools/x.ts imports amqplib"]);
  t.strictSame(probe('client/worker/x.ts', [
    "import type { Transport } from '../transport/transport.js';",
    "import type { TaskLink } from '../result-backend/result-backend.js';",
    "import type { Settings } from '../app/settings.js';",
    "import { executeJob } from './execute.js';",
  ].join('\n')), [], 'the contracts, the app settings and the layer itself are fine');
  // Outside the task layer (the app is where implementations are picked) the rule does not apply.
  t.strictSame(probe('client/app/celeriac.ts', "import type { Connection } from '../connection.js';"), []);
});
