// `celeriac inspect METHOD` and `celeriac status`: ask the running workers over remote control
// (app.control) and print their replies, Celery's way. No reply within the timeout exits 1.
import { parseDuration, UsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { toJson } from '../output.js';
import type { BroadcastOptions } from '../../control/types.js';

/** The read-only inspect methods, as `app.control.inspect()` names them. */
const METHODS = ['active', 'reserved', 'scheduled', 'registered', 'stats', 'ping'] as const;
type Method = (typeof METHODS)[number];

/** Celery's wording when nobody answers. */
const NO_REPLY = 'Error: No nodes replied within time constraint';

const controlFlags = [
  { flag: 'timeout', short: 't', env: 'CELERIAC_CONTROL_TIMEOUT', kind: 'string', metavar: 'MS', default: '1000', help: 'how long to collect replies' },
  { flag: 'destination', short: 'd', kind: 'list', metavar: 'NAMES', help: 'only these workers (hostnames, comma-separated)' },
] as const;

/** The broadcast options of --timeout and -d. */
function broadcastOptions(args: ParsedArgs): BroadcastOptions {
  const t = args.string('timeout');
  const options: BroadcastOptions = { timeout: t === undefined ? 1000 : parseDuration(t) };
  const d = args.list('destination');
  if (d.length > 0) options.destination = d;
  return options;
}

/** Thrown when no worker answered: Celery's line as is, exit 1. */
class NoReplies extends CliError {
  constructor() {
    super(NO_REPLY, 1, { verbatim: true });
  }
}

const inspectSpec: CommandSpec = {
  name: 'inspect',
  summary: 'ask the running workers: active, reserved, scheduled, registered, stats',
  positionals: `<${METHODS.join('|')}>`,
  description: [
    'Broadcasts the question to every worker (or -d ones) and prints the replies that came within',
    '--timeout as JSON, one key per worker hostname. No reply at all exits 1.',
    '  active      tasks running now          reserved    tasks prefetched, not started',
    '  scheduled   tasks held for a time      registered  task names each worker knows',
    '  stats       pool, prefetch, totals     ping        which workers answer',
  ],
  flags: controlFlags,
  examples: ['celeriac inspect active --broker ws://127.0.0.1:5680', 'celeriac inspect registered -d w1@host --timeout 2s'],
};

async function runInspect(ctx: CommandContext): Promise<number> {
  const [method, ...extra] = ctx.args.positionals;
  if (method === undefined) throw new UsageError(`inspect needs what to ask: ${METHODS.join(', ')}`);
  if (!(METHODS as readonly string[]).includes(method)) throw new UsageError(`inspect: no such method '${method}'; one of ${METHODS.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`inspect takes one method; unexpected: ${extra.join(' ')}`);
  const options = broadcastOptions(ctx.args);
  const { app } = await ctx.loadApp();
  try {
    const inspect = app.control.inspect(options);
    const replies: Record<string, unknown> = await inspect[method as Method]();
    const hosts = Object.keys(replies).sort();
    if (hosts.length === 0) throw new NoReplies();
    ctx.output.out(`${toJson(Object.fromEntries(hosts.map((h) => [h, replies[h]])))}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

const statusSpec: CommandSpec = {
  name: 'status',
  summary: 'ping the workers and say which are online',
  positionals: '',
  description: ['Pings every worker and prints "->  <hostname>: OK" for each that answered within --timeout,', 'then "N nodes online."; none: exit 1.'],
  flags: controlFlags,
  examples: ['celeriac status --broker ws://127.0.0.1:5680'],
};

async function runStatus(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0) throw new UsageError(`status takes no arguments; unexpected: ${ctx.args.positionals.join(' ')}`);
  const options = broadcastOptions(ctx.args);
  const { app } = await ctx.loadApp();
  try {
    const replies = await app.control.ping(options);
    const hosts = [...new Set(replies.flatMap((r) => Object.keys(r)))].sort();
    if (hosts.length === 0) throw new NoReplies();
    const rows = hosts.map((h) => `->  ${h}: OK`);
    ctx.output.out(`${rows.join('\n')}\n\n${hosts.length} ${hosts.length === 1 ? 'node' : 'nodes'} online.\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** The `inspect` command. */
export const inspectCommand: Command = { spec: inspectSpec, run: runInspect };
/** The `status` command. */
export const statusCommand: Command = { spec: statusSpec, run: runStatus };
