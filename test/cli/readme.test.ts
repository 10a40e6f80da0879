// The README's first screen must work as written: its example runs against the built package and
// prints what it says, and the commands it names exist in package.json.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { plainChildEnv } from '../helpers/plain-children.js';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

t.test('the ten-line example runs a task and prints its result', async (t) => {
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!t.ok(block, 'the README has a ts example')) return;
  t.ok(block!.split('\n').filter((l) => l.trim() !== '').length <= 12, 'about ten lines');
  // The example is TypeScript: type-check-free transpile to the JavaScript a user's build would emit.
  const js = ts.transpileModule(block!, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  // The example imports the package by name; point those imports at the built files.
  const code = js
    .replace(`'celeriac/server'`, `'${pathToFileURL(join(ROOT, 'dist/server/index.js')).href}'`)
    .replace(`'celeriac'`, `'${pathToFileURL(join(ROOT, 'dist/client/index.js')).href}'`);
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'example.mjs');
  writeFileSync(file, code);
  const child = spawn(process.execPath, [file], { cwd: dir, env: plainChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code_ = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  clearTimeout(timer);
  t.equal(code_, 0, `the example exits 0:\n${out}`);
  t.equal(out, '5\n', 'and prints the result of add(2, 3)');
});

t.test('the commands on the first screen exist', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  t.match(readme, 'npm install && npx broker-server');
  t.match(readme, 'npm install && npm test');
  t.equal(pkg.bin['broker-server'], 'dist/server/cli/broker-server.js', 'the bin npx runs');
  t.ok(pkg.scripts.prepare?.includes('tsc'), 'npm install compiles (prepare)');
  t.ok(pkg.scripts.test, 'npm test exists');
  t.match(readFileSync(join(ROOT, 'server/cli/broker-server.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin has a node shebang');
});
