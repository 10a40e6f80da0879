// The celeriac command's pure parts, in process: splitting at the command, flags with env
// fallbacks, value converters, node name expansion, module resolution and error wording.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CeleriacError } from '../../shared/errors.js';
import { parseCommandArgs, parseDuration, parseInteger, parseJson, splitCommand, UsageError, type CommandSpec } from '../../client/cli/args.js';
import { CliError, describeError } from '../../client/cli/errors.js';
import { parseLogLevel, toJson } from '../../client/cli/output.js';
import { resolveModulePath } from '../../client/cli/resolve-module.js';
import { expandHostname } from '../../client/cli/commands/worker.js';
import { COMMANDS } from '../../client/cli/commands/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/cli-apps');

const SPEC: CommandSpec = {
  name: 'demo', summary: '', positionals: '', description: [],
  flags: [
    { flag: 'queues', short: 'Q', env: 'CELERIAC_QUEUES', kind: 'list', help: '' },
    { flag: 'count', short: 'c', env: 'CELERIAC_COUNT', kind: 'string', help: '' },
    { flag: 'force', short: 'f', env: 'CELERIAC_FORCE', kind: 'bool', help: '' },
  ],
};

t.test('splitCommand finds the command after common flags and their values', async (t) => {
  t.strictSame(splitCommand(['-A', 'tasks', 'worker', '-c', '4']), { command: 'worker', rest: ['-A', 'tasks', '-c', '4'] });
  t.strictSame(splitCommand(['--broker', 'ws://x:1', '--app=tasks', 'status']), { command: 'status', rest: ['--broker', 'ws://x:1', '--app=tasks'] });
  t.strictSame(splitCommand(['call', 'tasks.add']), { command: 'call', rest: ['tasks.add'] });
  t.strictSame(splitCommand(['--help']), { command: undefined, rest: ['--help'] });
});

t.test('flags win over env vars; lists take repeats and commas', async (t) => {
  const env = { CELERIAC_QUEUES: 'a, b', CELERIAC_COUNT: '3', CELERIAC_FORCE: 'yes', CELERIAC_BROKER: 'ws://env:1' };
  const fromEnv = parseCommandArgs(SPEC, [], env);
  t.strictSame(fromEnv.list('queues'), ['a', 'b']);
  t.strictSame(fromEnv.string('count'), { raw: '3', source: 'CELERIAC_COUNT' });
  t.equal(fromEnv.bool('force'), true);
  t.strictSame(fromEnv.string('broker'), { raw: 'ws://env:1', source: 'CELERIAC_BROKER' }, 'common flags have env vars too');
  const fromFlags = parseCommandArgs(SPEC, ['-Q', 'x,y', '--queues', 'z', '-c', '9', '-b', 'ws://flag:1', 'pos'], env);
  t.strictSame(fromFlags.list('queues'), ['x', 'y', 'z']);
  t.strictSame(fromFlags.string('count'), { raw: '9', source: '--count' });
  t.equal(fromFlags.string('broker')?.raw, 'ws://flag:1');
  t.strictSame(fromFlags.positionals, ['pos']);
  t.throws(() => parseCommandArgs(SPEC, ['--nope']), UsageError);
  t.throws(() => parseCommandArgs(SPEC, ['-c']), UsageError, 'a missing value');
  t.throws(() => parseCommandArgs(SPEC, [], { CELERIAC_FORCE: 'maybe' }).bool('force'), { message: "CELERIAC_FORCE expects true or false, got 'maybe'" });
});

t.test('value converters name the flag a bad value came from', async (t) => {
  t.equal(parseDuration({ raw: '250', source: '--timeout' }), 250);
  t.equal(parseDuration({ raw: '2s', source: '--timeout' }), 2000);
  t.equal(parseDuration({ raw: '1.5m', source: '--timeout' }), 90_000);
  t.throws(() => parseDuration({ raw: 'soon', source: '--timeout' }), { message: "--timeout expects a duration in ms (or with an s, m or h suffix), got 'soon'" });
  t.equal(parseInteger({ raw: '4', source: '-c' }, 1), 4);
  t.throws(() => parseInteger({ raw: '0', source: '--concurrency' }, 1), { message: "--concurrency expects a whole number >= 1, got '0'" });
  t.throws(() => parseJson({ raw: '[1', source: '--args' }, 'a JSON array', (x): x is unknown[] => Array.isArray(x)), /--args is not valid JSON/);
  t.equal(parseLogLevel({ raw: 'WARNING', source: '-l' }), 'warn', "Celery's level names work");
  t.equal(parseLogLevel({ raw: 'Info', source: '-l' }), 'info');
  t.throws(() => parseLogLevel({ raw: 'loud', source: '-l' }), UsageError);
  t.equal(toJson({ n: 1n, b: new Uint8Array([1]) }, 0), '{"n":"1","b":{"type":"Buffer","base64":"AQ=="}}');
});

t.test('node names expand %h, %n and %d as Celery does', async (t) => {
  t.equal(expandHostname('w1@%h', 'box.example.com'), 'w1@box.example.com');
  t.equal(expandHostname('%n-%d', 'box.example.com'), 'box-example.com');
  t.equal(expandHostname('w@%h', 'box'), 'w@box');
  t.equal(expandHostname('100%%', 'box'), '100%');
});

t.test('-A resolves paths (extension optional) and package names, from the working directory', async (t) => {
  t.equal(resolveModulePath('./tasks.mjs', FIXTURES), join(FIXTURES, 'tasks.mjs'));
  t.equal(resolveModulePath('tasks', FIXTURES), join(FIXTURES, 'tasks.mjs'), '`-A tasks` finds tasks.mjs, as `celery -A tasks` finds tasks.py');
  t.equal(resolveModulePath(join(FIXTURES, 'tasks.mjs'), '/'), join(FIXTURES, 'tasks.mjs'), 'absolute paths');
  t.match(resolveModulePath('ws', ROOT), /node_modules\/ws\//, 'an installed package');

  const dir = mkdtempSync(join(tmpdir(), 'celeriac-resolve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'node_modules', 'esm-only-app');
  mkdirSync(join(pkg, 'lib'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'esm-only-app', type: 'module', exports: { '.': { import: './lib/app.js' }, './tasks': { import: './lib/tasks.js' } } }));
  writeFileSync(join(pkg, 'lib', 'app.js'), 'export default {};\n');
  writeFileSync(join(pkg, 'lib', 'tasks.js'), 'export default {};\n');
  mkdirSync(join(dir, 'sub'));
  t.equal(resolveModulePath('esm-only-app', join(dir, 'sub')), join(pkg, 'lib', 'app.js'), 'an ESM-only package (import condition), found from a subdirectory');
  t.equal(resolveModulePath('esm-only-app/tasks', dir), join(pkg, 'lib', 'tasks.js'), 'a subpath export');

  const err = (() => {
    try {
      resolveModulePath('./missing', FIXTURES);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(err instanceof CliError && err.exitCode === 2, 'a CliError with exit code 2');
  t.match((err as Error).message, /^no such module: \.\/missing \(looked for .*missing\.js/);
});

t.test('errors become one line and an exit code', async (t) => {
  t.strictSame(describeError(new UsageError('bad'), 'call'), { message: 'bad (see celeriac call --help)', exitCode: 2, line: 'celeriac: bad (see celeriac call --help)' });
  t.equal(describeError(new CeleriacError('ERR_CONNECTION_CLOSED', 'cannot connect to ws://h:1/: ECONNREFUSED'), 'call').line, 'celeriac: broker unreachable: cannot connect to ws://h:1/: ECONNREFUSED');
  t.equal(describeError(new CeleriacError('ERR_INVALID_ARGUMENT', 'setting broker: bad'), 'call').exitCode, 2);
  t.equal(describeError(new CliError('Error: No nodes', 1, { verbatim: true }), 'status').line, 'Error: No nodes');
  t.equal(describeError(new Error('oops'), undefined).exitCode, 1);
});

t.test('every command has a distinct name, a summary and documented flags', async (t) => {
  const names = COMMANDS.map((c) => c.spec.name);
  t.strictSame(names, ['worker', 'beat', 'call', 'result', 'schedule', 'inspect', 'status', 'control', 'queues', 'events', 'purge']);
  for (const c of COMMANDS) {
    t.ok(c.spec.summary.length > 0, `${c.spec.name} has a summary`);
    const flags = c.spec.flags.map((f) => f.flag);
    t.equal(new Set(flags).size, flags.length, `${c.spec.name}: no flag twice`);
    const shorts = ['A', 'b', 'l', 'h', ...c.spec.flags.flatMap((f) => (f.short === undefined ? [] : [f.short]))];
    t.equal(new Set(shorts).size, shorts.length, `${c.spec.name}: no short letter twice`);
  }
});
