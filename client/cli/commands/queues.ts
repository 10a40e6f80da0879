// `celeriac queues [list]`, `queues delete NAME`, `queues purge NAME...`: the broker's queues
// through its management HTTP API (as `rabbitmqctl list_queues` / `delete_queue` / `purge_queue`),
// with a progress line on a terminal while a deep queue is purged or deleted.
import { parseDuration, UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { ApiRefusal, apiPath, managementApi, type ManagementApi, type QueueInfo } from '../management-api.js';
import { toJson } from '../output.js';
import { startProgress } from '../progress.js';
import { formatCount, renderTable, type Column } from '../table.js';
import { JSON_FLAG } from './broadcast.js';

const ACTIONS = ['list', 'delete', 'purge'] as const;
type Action = (typeof ACTIONS)[number];

/** The vhost a broker has unless told otherwise (its URL path, -p). */
const DEFAULT_VHOST = '/';

const spec: CommandSpec = {
  name: 'queues',
  summary: 'list, delete and purge queues (the broker\'s management API)',
  positionals: '[list | delete <name> | purge <name>...]',
  description: [
    'Talks to the management HTTP API on the broker\'s own host and port (http:// for a ws:// broker URL,',
    'https:// for wss://) as the URL\'s user (HTTP Basic; no user: the built-in guest, from loopback only).',
    'Listing needs the monitoring tag, delete and purge the administrator tag; a refusal is one line, exit 1.',
    '  list (default)   each queue: name, vhost, messages, ready, unacked, delayed, consumers, and the',
    '                   publish / deliver / ack rates (messages a second over the last seconds)',
    '  delete NAME      deletes the queue and its messages; --if-empty, --if-unused refuse otherwise',
    '  purge NAME...    removes the ready messages (unacked and delayed ones stay, as AMQP\'s purge);',
    '                   a queue that does not exist is reported and the command exits 1 after the others',
    'On a terminal a deep queue\'s purge or delete shows a progress line on stderr (the count left, the time).',
    '`celeriac purge` does the same purge over the WebSocket protocol (a user without tags may use it).',
  ],
  flags: [
    { flag: 'vhost', short: 'p', kind: 'string', metavar: 'VHOST', default: 'the broker URL\'s, else all (list) or /', help: 'the virtual host' },
    { flag: 'if-empty', kind: 'bool', help: 'delete: only if the queue holds no messages' },
    { flag: 'if-unused', kind: 'bool', help: 'delete: only if the queue has no consumers' },
    { flag: 'timeout', short: 't', kind: 'string', metavar: 'MS', default: '60s', help: 'how long to wait for each answer of the API' },
    JSON_FLAG,
  ],
  examples: [
    'celeriac queues --broker ws://ops:s3cret@127.0.0.1:5680',
    'celeriac queues list -p / --json',
    'celeriac queues purge web_tasks default',
    'celeriac queues delete old_tasks --if-empty',
  ],
};

const QUEUE_COLUMNS: readonly Column[] = [
  { header: 'NAME' }, { header: 'VHOST' },
  ...['MESSAGES', 'READY', 'UNACKED', 'DELAYED', 'CONSUMERS', 'PUBLISH/S', 'DELIVER/S', 'ACK/S'].map((header) => ({ header, align: 'right' as const })),
];

/** The queues as a table, sorted by vhost then name. */
export function queuesTable(queues: readonly QueueInfo[]): string {
  const rate = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(1));
  const sorted = [...queues].sort((a, b) => (a.vhost === b.vhost ? (a.name < b.name ? -1 : 1) : a.vhost < b.vhost ? -1 : 1));
  return renderTable(QUEUE_COLUMNS, sorted.map((q) => [
    q.name, q.vhost, formatCount(q.messages), formatCount(q.ready), formatCount(q.unacked), formatCount(q.delayed), formatCount(q.consumers),
    rate(q.rates?.publish), rate(q.rates?.deliver), rate(q.rates?.ack),
  ]));
}

/** What every action needs: the API, the vhost chosen (undefined: none named), the timeout. */
interface Target {
  api: ManagementApi;
  vhost: string | undefined;
  timeoutMs: number;
}

async function list(ctx: CommandContext, target: Target, extra: readonly string[]): Promise<number> {
  if (extra.length > 0) throw new UsageError(`queues list takes no arguments; unexpected: ${extra.join(' ')}`);
  const path = target.vhost === undefined ? '/api/queues' : `/api/queues${apiPath(target.vhost)}`;
  const queues = (await target.api.request<QueueInfo[]>('GET', path, target.timeoutMs)) ?? [];
  if (ctx.args.bool('json')) ctx.output.out(`${toJson(queues)}\n`);
  else if (queues.length === 0) ctx.output.out(target.vhost === undefined ? 'No queues.\n' : `No queues in vhost '${target.vhost}'.\n`);
  else ctx.output.out(queuesTable(queues));
  return 0;
}

/** One queue, or undefined when it does not exist (404). */
async function queueInfo(target: Target, vhost: string, name: string): Promise<QueueInfo | undefined> {
  try {
    return await target.api.request<QueueInfo>('GET', `/api/queues${apiPath(vhost, name)}`, target.timeoutMs);
  } catch (err) {
    if (err instanceof ApiRefusal && err.status === 404) return undefined;
    throw err;
  }
}

/** A DELETE that may take a while on a deep queue, and how its progress line reads the count left. */
interface LongDelete {
  /** The line's text: 'purging queue jobs'. */
  label: string;
  vhost: string;
  name: string;
  /** The count before the request (the first frame's). */
  initial: number;
  unit: readonly [one: string, many: string];
  /** The count left, from the queue's own listing (GET /api/queues/{vhost}/{name}). */
  count: (q: QueueInfo) => number;
  path: string;
}

/** Runs the DELETE with the progress line up (on a terminal), polling the count while it runs. */
async function withProgress(ctx: CommandContext, target: Target, op: LongDelete): Promise<void> {
  const progress = startProgress(
    { isTerminal: ctx.output.errIsTerminal === true, columns: ctx.output.errColumns, write: (text) => ctx.output.err(text) },
    {
      label: op.label, unit: op.unit, initial: op.initial,
      poll: async () => {
        const q = await queueInfo(target, op.vhost, op.name);
        return q === undefined ? undefined : op.count(q);
      },
    },
  );
  try {
    await target.api.request('DELETE', op.path, target.timeoutMs);
  } finally {
    progress.stop();
  }
}

async function purge(ctx: CommandContext, target: Target, names: readonly string[]): Promise<number> {
  if (names.length === 0) throw new UsageError('queues purge needs the queue names');
  const vhost = target.vhost ?? DEFAULT_VHOST;
  const purged: Array<{ vhost: string; name: string; readyBefore: number }> = [];
  const missing: string[] = [];
  for (const name of [...new Set(names)]) {
    const q = await queueInfo(target, vhost, name);
    if (q === undefined) {
      missing.push(name);
      ctx.output.err(`celeriac: no such queue: ${name} in vhost '${vhost}'\n`);
      continue;
    }
    await withProgress(ctx, target, {
      label: `purging queue ${name}`, vhost, name, initial: q.ready, unit: ['ready message left', 'ready messages left'],
      count: (x) => x.ready, path: `/api/queues${apiPath(vhost, name)}/contents`,
    });
    purged.push({ vhost, name, readyBefore: q.ready });
    if (!ctx.args.bool('json')) ctx.output.out(`${name}: purged (${formatCount(q.ready)} ready ${q.ready === 1 ? 'message' : 'messages'} before)\n`);
  }
  if (ctx.args.bool('json')) ctx.output.out(`${toJson({ purged, missing })}\n`);
  return missing.length === 0 ? 0 : 1;
}

async function remove(ctx: CommandContext, target: Target, names: readonly string[]): Promise<number> {
  if (names.length !== 1) throw new UsageError(names.length === 0 ? 'queues delete needs the queue name' : `queues delete takes one queue; unexpected: ${names.slice(1).join(' ')}`);
  const name = names[0]!;
  const vhost = target.vhost ?? DEFAULT_VHOST;
  const q = await queueInfo(target, vhost, name);
  if (q === undefined) throw new ApiRefusal(404, 'ERR_NOT_FOUND', `no queue '${name}' in vhost '${vhost}'`);
  const query = [ctx.args.bool('if-empty') ? 'if-empty=true' : '', ctx.args.bool('if-unused') ? 'if-unused=true' : ''].filter(Boolean).join('&');
  await withProgress(ctx, target, {
    label: `deleting queue ${name}`, vhost, name, initial: q.messages, unit: ['message left', 'messages left'],
    count: (x) => x.messages, path: `/api/queues${apiPath(vhost, name)}${query === '' ? '' : `?${query}`}`,
  });
  ctx.output.out(ctx.args.bool('json')
    ? `${toJson({ vhost, name, deleted: true, messagesBefore: q.messages })}\n`
    : `${name}: deleted (${formatCount(q.messages)} ${q.messages === 1 ? 'message' : 'messages'} before)\n`);
  return 0;
}

async function run(ctx: CommandContext): Promise<number> {
  const [typed = 'list', ...rest] = ctx.args.positionals;
  if (!(ACTIONS as readonly string[]).includes(typed)) throw new UsageError(`queues: no such action '${typed}'; one of ${ACTIONS.join(', ')}`);
  const action = typed as Action;
  if (action !== 'delete' && (ctx.args.bool('if-empty') || ctx.args.bool('if-unused'))) throw new UsageError(`--if-empty and --if-unused go with delete, not ${action}`);
  const t = ctx.args.string('timeout');
  const timeoutMs = t === undefined ? 60_000 : parseDuration(t);
  const vhostFlag = ctx.args.string('vhost')?.raw;
  // A broker given on the command line is checked first: the app's settings would refuse an amqp://
  // broker without a result backend, a reason that has nothing to do with this command.
  const given = ctx.args.string('broker')?.raw;
  if (given !== undefined) managementApi(given);
  const { app } = await ctx.loadApp();
  try {
    const api = managementApi(app.settings.broker);
    const target: Target = { api, vhost: vhostFlag ?? api.vhost, timeoutMs };
    switch (action) {
      case 'list': return await list(ctx, target, rest);
      case 'purge': return await purge(ctx, target, rest);
      case 'delete': return await remove(ctx, target, rest);
    }
  } finally {
    await app.close();
  }
}

/** The `queues` command. */
export const queuesCommand: Command = { spec, run };
