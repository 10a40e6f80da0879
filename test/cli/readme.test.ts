// The README's examples work as pasted. A code block marked `<!-- runnable -->` on the line before
// its fence is type-checked against the package's types, transpiled, and run with node against the
// built package (as `import 'celeriac'` from another project); it must exit 0, write nothing to
// stderr, and print exactly what its `// ... prints X` comments say, in order. A block marked
// `<!-- typecheck -->` needs servers this test does not start (RabbitMQ, Redis): it is type-checked
// with the runnable ones, not run. Every TS/JS block carries one of those markers or
// `<!-- fragment -->` (a deliberate excerpt), so no example slips in untried.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const RUNNABLE = '<!-- runnable -->';
const FRAGMENT = '<!-- fragment -->';
const TYPECHECK = '<!-- typecheck -->';
const SCRIPT_LANGS: ReadonlySet<string> = new Set(['ts', 'typescript', 'js', 'javascript', 'mts', 'mjs']);
/** A block that has not exited by then has hung (an unclosed connection keeps node alive). */
const RUN_TIMEOUT = 30_000;
/** tsc needs ~3 s of CPU (it parses @types/node and the package's types); this bound is for a busy machine. */
const TSC_TIMEOUT = 60_000;
/** Blocks (and the type-check) run two at a time: each starts a broker, and the machine is shared. */
const PARALLEL = 2;

interface Block {
  /** 1-based README line of the opening fence. */
  line: number;
  lang: string;
  /** The line just before the fence (where the marker goes). */
  before: string;
  code: string;
}

/** The fenced code blocks of a markdown text. */
function fencedBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*(\S*)/.exec(lines[i]!);
    if (open === null) continue;
    const close = lines.findIndex((l, j) => j > i && l.trim() === open[1]);
    if (close < 0) throw new Error(`README.md:${i + 1}: a code fence that is never closed`);
    blocks.push({ line: i + 1, lang: open[2]!.toLowerCase(), before: (lines[i - 1] ?? '').trim(), code: lines.slice(i + 1, close).join('\n') + '\n' });
    i = close;
  }
  return blocks;
}

/** The lines a block says it prints: the text after `prints ` in a `//` comment, one per console.log. */
function expectedOutput(code: string): string[] {
  return code.split('\n').flatMap((l) => /\/\/.*\bprints (.+)$/.exec(l)?.[1]?.trimEnd() ?? []);
}

interface Outcome { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * The environment a user's shell would have: without tap's NODE_OPTIONS (its coverage hook makes
 * every child several seconds slower to start) and without CELERIAC_* settings of the caller.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS_|CELERIAC_)/.test(k)) env[k] = v;
  }
  return env;
}

/** Runs a node script to its end (killed after `timeout` ms) and collects what it wrote. */
function runNode(args: readonly string[], cwd: string, timeout = RUN_TIMEOUT): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the jobs at most `n` at a time; each promise settles with its own job. */
function limited<T>(n: number, jobs: readonly (() => Promise<T>)[]): Promise<T>[] {
  let next = 0;
  const results = jobs.map(() => deferred<T>());
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i]!.resolve(await jobs[i]!());
    }
  };
  for (let k = 0; k < Math.min(n, jobs.length); k++) void worker();
  return results.map((r) => r.promise);
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

const blocks = fencedBlocks(readme);
const runnable = blocks.filter((b) => b.before === RUNNABLE);
const checkedOnly = blocks.filter((b) => b.before === TYPECHECK);

// A temporary project where `import 'celeriac'` resolves to this package, as after `npm install`.
const dir = mkdtempSync(join(tmpdir(), 'celeriac-readme-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'node_modules'));
symlinkSync(ROOT, join(dir, 'node_modules', 'celeriac'), 'dir');
const built = existsSync(join(ROOT, 'dist/client/index.js')) && existsSync(join(ROOT, 'dist/server/index.js'));

const sources = runnable.map((b) => {
  const base = join(dir, `readme-line-${b.line}`);
  writeFileSync(`${base}.mts`, b.code);
  // Types stripped the way tsx or tsc would; the type-check below is separate.
  const js = ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(`${base}.mjs`, js);
  return { block: b, ts: `${base}.mts`, js: `${base}.mjs` };
});
const checkedOnlyFiles = checkedOnly.map((b) => {
  const file = join(dir, `readme-line-${b.line}.mts`);
  writeFileSync(file, b.code);
  return file;
});
// The type-check runs tsc in a child process, as one more job: in this process it would hold the
// event loop for seconds (and the run timeouts with it).
writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
  compilerOptions: {
    module: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, pretty: false,
    types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
  },
  files: [...sources.map((s) => s.ts), ...checkedOnlyFiles],
}));
const tsc = createRequire(import.meta.url).resolve('typescript/lib/tsc.js');
const [typecheck, ...outcomes] = built
  ? limited(PARALLEL, [() => runNode([tsc, '-p', join(dir, 'tsconfig.json')], dir, TSC_TIMEOUT), ...sources.map((s) => () => runNode([s.js], dir))])
  : [];

/** tsc's `readme-line-52.mts(3,5): error ...` as `README.md:55: error ...`. */
function readmeLines(tscOutput: string): string[] {
  return tscOutput.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const m = /readme-line-(\d+)\.mts\((\d+),\d+\): (.*)$/.exec(l);
    return m === null ? l : `README.md:${Number(m[1]) + Number(m[2])}: ${m[3]}`;
  });
}

t.test('every TS/JS block is marked runnable or fragment', async (t) => {
  const scripts = blocks.filter((b) => SCRIPT_LANGS.has(b.lang));
  t.ok(scripts.length >= 3, 'the README has its examples');
  for (const b of scripts) {
    t.ok(b.before === RUNNABLE || b.before === FRAGMENT || b.before === TYPECHECK, `README.md:${b.line}: put ${RUNNABLE} (or ${TYPECHECK}, ${FRAGMENT}) on the line before the fence`);
  }
  t.equal(runnable[0]?.line, scripts[0]?.line, 'the first screen\'s example is runnable');
  t.ok(runnable[0]!.code.split('\n').filter((l) => l.trim() !== '').length <= 12, 'and about ten lines');
});

t.test('the runnable and typecheck blocks type-check against the package\'s types', async (t) => {
  if (!t.ok(built, 'dist/ is built (npx tsc -p tsconfig.json)')) return;
  const out = await typecheck!;
  t.strictSame(readmeLines(out.stdout + out.stderr), [], 'no type errors (strict)');
  t.equal(out.code, 0, `tsc exits 0 (signal ${out.signal})`);
});

for (const [i, { block }] of sources.entries()) {
  t.test(`README.md:${block.line} runs as pasted`, async (t) => {
    if (!t.ok(built, 'dist/ is built (npx tsc -p tsconfig.json)')) return;
    const expected = expectedOutput(block.code);
    t.equal(expected.length, block.code.split('console.log(').length - 1, 'every console.log says what it prints');
    const out = await outcomes[i]!;
    t.equal(out.code, 0, `exits 0 by itself (signal ${out.signal}):\n${out.stderr}`);
    t.equal(out.stderr, '', 'writes nothing to stderr');
    t.equal(out.stdout, expected.map((l) => `${l}\n`).join(''), 'prints what it says');
  });
}

t.test('the commands on the first screen exist', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  t.match(readme, 'npm install && npx broker-server');
  t.match(readme, 'npm install && npm test');
  t.equal(pkg.bin['broker-server'], 'dist/server/cli/broker-server.js', 'the bin npx runs');
  const compiles = (script: string | undefined): boolean => script !== undefined
    && (script.includes('tsc') || (/\bnpm run build\b/.test(script) && compiles(pkg.scripts.build)));
  t.ok(compiles(pkg.scripts.prepare), 'npm install compiles (prepare runs tsc, itself or through npm run build)');
  t.ok(pkg.scripts.test, 'npm test exists');
  t.match(readFileSync(join(ROOT, 'server/cli/broker-server.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin has a node shebang');
});
