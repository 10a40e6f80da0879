// `celeriac inspect METHOD` and `celeriac status`: ask the running workers over remote control
// (app.control) and print their replies as tables (--json: one document). No reply exits 1.
import { UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { toJson } from '../output.js';
import { BROADCAST_FLAGS, JSON_FLAG, NoReplies, broadcastOptions, byHost } from './broadcast.js';
import { pingTable, registeredTable, statsTable, statusRows, statusTable, taskListTable } from './inspect-tables.js';

/** The read-only inspect methods, as `app.control.inspect()` names them. */
const METHODS = ['active', 'reserved', 'scheduled', 'registered', 'stats', 'ping'] as const;
type Method = (typeof METHODS)[number];

/** The table of each method's replies (merged by hostname). */
const TABLES: Readonly<Record<Method, (replies: Record<string, unknown>) => string>> = {
  active: (r) => taskListTable('active', r, Date.now()),
  reserved: (r) => taskListTable('reserved', r, Date.now()),
  scheduled: (r) => taskListTable('scheduled', r, Date.now()),
  registered: registeredTable,
  stats: statsTable,
  ping: pingTable,
};

const inspectSpec: CommandSpec = {
  name: 'inspect',
  summary: 'ask the running workers: active, reserved, scheduled, registered, stats',
  positionals: `<${METHODS.join('|')}>`,
  description: [
    'Broadcasts the question to every worker (or -d ones) and prints the replies that came within',
    '--timeout as a table (--json: one JSON object, a key per worker hostname). No reply at all exits 1.',
    '  active      tasks running now          reserved    tasks prefetched, not started',
    '  scheduled   tasks held for a time      registered  task names each worker knows',
    '  stats       pool, prefetch, totals     ping        which workers answer',
  ],
  flags: [...BROADCAST_FLAGS, JSON_FLAG],
  examples: ['celeriac inspect active --broker ws://127.0.0.1:5680', 'celeriac inspect registered -d w1@host --timeout 2s', 'celeriac inspect stats --json'],
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
    const answer: Record<string, unknown> = await inspect[method as Method]();
    const replies = byHost([answer]);
    if (Object.keys(replies).length === 0) throw new NoReplies();
    ctx.output.out(ctx.args.bool('json') ? `${toJson(replies)}\n` : TABLES[method as Method](replies));
    return 0;
  } finally {
    await app.close();
  }
}

const statusSpec: CommandSpec = {
  name: 'status',
  summary: 'ping the workers and say which are online',
  positionals: '',
  description: [
    'Pings every worker (and asks for its stats) and prints a row for each that answered within --timeout:',
    'pool, concurrency, tasks processed, uptime and queues; then "N nodes online.". None: exit 1.',
    '--json prints one object, a key per worker hostname.',
  ],
  flags: [...BROADCAST_FLAGS, JSON_FLAG],
  examples: ['celeriac status --broker ws://127.0.0.1:5680', 'celeriac status --json'],
};

async function runStatus(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0) throw new UsageError(`status takes no arguments; unexpected: ${ctx.args.positionals.join(' ')}`);
  const options = broadcastOptions(ctx.args);
  const { app } = await ctx.loadApp();
  try {
    // Both in the same window: a worker that pings is online; its stats fill the row when they came.
    const [pings, stats] = await Promise.all([app.control.ping(options), app.control.inspect(options).stats()]);
    const hosts = Object.keys(byHost(pings));
    if (hosts.length === 0) throw new NoReplies();
    const rows = statusRows(hosts, stats);
    ctx.output.out(ctx.args.bool('json') ? `${toJson(rows)}\n` : statusTable(rows));
    return 0;
  } finally {
    await app.close();
  }
}

/** The `inspect` command. */
export const inspectCommand: Command = { spec: inspectSpec, run: runInspect };
/** The `status` command. */
export const statusCommand: Command = { spec: statusSpec, run: runStatus };
