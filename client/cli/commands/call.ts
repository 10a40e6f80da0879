// `celeriac call NAME`: sends a task by name (with -A, through the app's routes and options) and
// prints its id; --wait also waits for the result and prints it as JSON.
import { CeleriacError } from '../../../shared/errors.js';
import { closest } from '../../app/suggest.js';
import type { ApplyOptions } from '../../tasks/task.js';
import { parseChoice, parseDuration, parseInteger, parseJson, UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { toJson } from '../output.js';
import { describeRemoteFailure } from './result.js';

const spec: CommandSpec = {
  name: 'call',
  summary: 'send a task by name and print its id',
  positionals: '<task-name>',
  description: [
    'Sends a task message by name. With -A the app\'s routes, serializer and the task\'s options apply;',
    'without it the task goes to the default exchange and queue on --broker.',
    'A task the app does not register is sent anyway with a warning (a worker elsewhere may know it);',
    '--strict refuses instead. --wait prints the result as JSON; a failed task exits 1.',
  ],
  flags: [
    { flag: 'args', short: 'a', kind: 'string', metavar: 'JSON', default: '[]', help: 'positional arguments, a JSON array' },
    { flag: 'kwargs', short: 'k', kind: 'string', metavar: 'JSON', default: '{}', help: 'keyword arguments, a JSON object' },
    { flag: 'queue', short: 'Q', kind: 'string', metavar: 'NAME', help: 'queue to send to (instead of the route)' },
    { flag: 'exchange', kind: 'string', metavar: 'NAME', help: 'exchange to publish to' },
    { flag: 'routing-key', kind: 'string', metavar: 'KEY', help: 'routing key to publish with' },
    { flag: 'priority', kind: 'string', metavar: 'N', help: 'message priority 0-255' },
    { flag: 'countdown', kind: 'string', metavar: 'MS', help: 'run no earlier than this long from now (the broker holds it)' },
    { flag: 'eta', kind: 'string', metavar: 'TIME', help: 'run no earlier than this ISO 8601 time' },
    { flag: 'expires', kind: 'string', metavar: 'MS|TIME', help: 'revoke it if not started within MS, or by an ISO 8601 time' },
    { flag: 'serializer', kind: 'string', metavar: 'json|msgpack', help: 'body serializer (default: the app\'s taskSerializer)' },
    { flag: 'task-id', kind: 'string', metavar: 'ID', help: 'use this task id instead of a new UUID' },
    { flag: 'wait', short: 'w', kind: 'bool', help: 'wait for the result and print it as JSON' },
    { flag: 'timeout', short: 't', env: 'CELERIAC_TIMEOUT', kind: 'string', metavar: 'MS', default: 'wait as long as it takes', help: 'with --wait: give up after this long (exit 1)' },
    { flag: 'strict', kind: 'bool', help: 'with -A: refuse a task the app does not register (exit 1)' },
  ],
  examples: [
    "celeriac call tasks.add --args '[2, 3]' --broker ws://127.0.0.1:5680",
    "celeriac call -A ./tasks.js tasks.add -a '[2, 3]' --wait --timeout 10s",
  ],
};

const isArray = (x: unknown): x is unknown[] => Array.isArray(x);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A time as typed: ISO 8601 (or anything Date parses unambiguously). */
function parseTime(v: { raw: string; source: string }): Date {
  const d = new Date(v.raw);
  if (v.raw.trim() === '' || Number.isNaN(d.getTime())) throw new UsageError(`${v.source} expects an ISO 8601 time such as 2030-01-01T12:00:00Z, got '${v.raw}'`);
  return d;
}

/** The call options from the flags; every value checked before anything connects. */
function callOptions(ctx: CommandContext): { args: unknown[]; options: ApplyOptions } {
  const a = ctx.args;
  const argsFlag = a.string('args');
  const kwargsFlag = a.string('kwargs');
  const args = argsFlag === undefined ? [] : parseJson(argsFlag, 'a JSON array such as \'[2, 3]\'', isArray);
  const options: ApplyOptions = {};
  if (kwargsFlag !== undefined) options.kwargs = parseJson(kwargsFlag, 'a JSON object such as \'{"x": 1}\'', isObject);
  const q = a.string('queue');
  if (q !== undefined) options.queue = q.raw;
  const ex = a.string('exchange');
  if (ex !== undefined) options.exchange = ex.raw;
  const rk = a.string('routing-key');
  if (rk !== undefined) options.routingKey = rk.raw;
  const pr = a.string('priority');
  if (pr !== undefined) options.priority = parseInteger(pr, 0, 255);
  const cd = a.string('countdown');
  if (cd !== undefined) options.countdown = parseDuration(cd);
  const eta = a.string('eta');
  if (eta !== undefined) options.eta = parseTime(eta);
  const exp = a.string('expires');
  if (exp !== undefined) options.expires = /^\s*\d+(\.\d+)?\s*[a-z]*\s*$/i.test(exp.raw) ? parseDuration(exp) : parseTime(exp);
  const ser = a.string('serializer');
  if (ser !== undefined) options.serializer = parseChoice(ser, ['json', 'msgpack'] as const);
  const id = a.string('task-id');
  if (id !== undefined) options.taskId = id.raw;
  return { args, options };
}

async function run(ctx: CommandContext): Promise<number> {
  const [name, ...extra] = ctx.args.positionals;
  if (name === undefined || name === '') throw new UsageError('call needs the task name, e.g. celeriac call tasks.add --args \'[2, 3]\'');
  if (extra.length > 0) throw new UsageError(`call takes one task name; unexpected: ${extra.join(' ')} (put arguments in --args '[...]')`);
  const { args, options } = callOptions(ctx);
  const wait = ctx.args.bool('wait');
  const t = ctx.args.string('timeout');
  const timeout = t === undefined ? undefined : parseDuration(t);

  const loaded = await ctx.loadApp();
  const { app } = loaded;
  try {
    if (loaded.modulePath !== undefined && app.getTask(name) === undefined) {
      const known = app.taskNames();
      const near = closest(name, known);
      const what = `task '${name}' is not registered in ${loaded.label}${near === undefined ? '' : ` (did you mean '${near}'?)`}`;
      if (ctx.args.bool('strict')) throw new CliError(`no such task: ${what}; registered: ${known.length === 0 ? 'none' : known.join(', ')}`);
      ctx.output.err(`celeriac: warning: ${what}; sending it by name anyway (--strict refuses)\n`);
    }
    const result = await app.sendTask(name, args, options);
    ctx.output.out(`${result.id}\n`);
    if (!wait) return 0;
    try {
      const value = await result.get(timeout === undefined ? {} : { timeout });
      ctx.output.out(`${toJson(value)}\n`);
      return 0;
    } catch (err) {
      if (err instanceof CeleriacError && typeof err.details?.['remoteName'] === 'string') throw new CliError(describeRemoteFailure(name, result.id, err, ctx.logLevel === 'debug'));
      throw err;
    }
  } finally {
    await app.close();
  }
}

/** The `call` command. */
export const callCommand: Command = { spec, run };
