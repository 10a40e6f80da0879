// `celeriac control ACTION`: Celery's `celery control` commands that change something — revoke,
// terminate, rate-limit, shutdown — through app.control, with the replies printed per worker.
import { constants as osConstants } from 'node:os';
import { CeleriacError } from '../../../shared/errors.js';
import { parseRateLimit, type RateLimit } from '../../app/rate-limit.js';
import type { ErrorReply, OkReply } from '../../control/types.js';
import { UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { toJson } from '../output.js';
import { BROADCAST_FLAGS, JSON_FLAG, NoReplies, broadcastOptions, byHost } from './broadcast.js';

/** The actions, with Celery's spelling of each accepted too (`rate_limit`). */
const ACTIONS = ['revoke', 'terminate', 'rate-limit', 'shutdown'] as const;
type Action = (typeof ACTIONS)[number];
const ALIASES: Readonly<Record<string, Action>> = { rate_limit: 'rate-limit', ratelimit: 'rate-limit' };

const spec: CommandSpec = {
  name: 'control',
  summary: 'change running workers: revoke, terminate, rate-limit, shutdown',
  positionals: '<revoke|terminate|rate-limit|shutdown> [arguments]',
  description: [
    'Celery\'s `celery control`, for the commands that act:',
    '  revoke ID... [--terminate [--signal SIG]]',
    '                 the broker keeps the revocation (across restarts, for workers started later):',
    '                 no worker starts those tasks; with --terminate the worker running one stops it',
    '  terminate ID... [--signal SIG]',
    '                 revoke --terminate (Celery\'s `terminate SIGNAL ID...` order works too); SIGTERM by default',
    '  rate-limit TASK RATE',
    '                 RATE as 10/s, 100/m, 5/h, or tasks a second; 0 = no limit. The broker holds it for',
    '                 every worker; the running ones reply',
    '  shutdown       warm shutdown: running tasks finish, prefetched ones go back to the queue',
    'rate-limit and shutdown print each worker\'s reply (->  host: OK, then its message) and go to',
    'every worker, or the -d ones; shutdown with no reply exits 1, an ERROR reply exits 1.',
    '--json prints one JSON object instead: the replies by worker hostname (revoke: the broker\'s count).',
  ],
  flags: [
    { flag: 'terminate', kind: 'bool', help: 'revoke: also stop the task where it runs' },
    { flag: 'signal', kind: 'string', metavar: 'SIG', default: 'SIGTERM', help: 'revoke --terminate, terminate: the signal the worker stops the task with (SIGKILL, KILL...)' },
    ...BROADCAST_FLAGS,
    JSON_FLAG,
  ],
  examples: [
    'celeriac control revoke 5f0c8a4e-0d7c-4a9b-8f2e-1c2d3e4f5a6b',
    'celeriac control terminate 5f0c8a4e-0d7c-4a9b-8f2e-1c2d3e4f5a6b --signal SIGKILL',
    'celeriac control rate-limit tasks.add 10/m',
    'celeriac control shutdown -d w1@host',
  ],
};

/** `KILL`, `sigkill`, `SIGKILL` -> 'SIGKILL', checked against the signals Node knows. */
function signalName(raw: string, source: string): NodeJS.Signals {
  const upper = raw.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!(name in osConstants.signals)) throw new UsageError(`${source} expects a signal name such as SIGTERM or SIGKILL; got '${raw}'`);
  return name as NodeJS.Signals;
}

/** Celery's reading of a reply: `{ ok }` -> OK, `{ error }` -> ERROR, with its text. */
function replyLines(replies: Readonly<Record<string, OkReply | ErrorReply>>): { text: string; errors: number } {
  let errors = 0;
  const text = Object.entries(replies).map(([host, r]) => {
    const failed = typeof (r as ErrorReply).error === 'string';
    if (failed) errors++;
    return `->  ${host}: ${failed ? 'ERROR' : 'OK'}\n    ${failed ? (r as ErrorReply).error : String((r as OkReply).ok)}\n`;
  }).join('');
  return { text, errors };
}

/**
 * revoke and terminate. `signal` is --signal, or (terminate) Celery's signal argument; it goes
 * only with `terminate`.
 */
async function revoke(ctx: CommandContext, ids: readonly string[], terminate: boolean, given: { raw: string; source: string } | undefined): Promise<number> {
  if (ids.length === 0) throw new UsageError(`control ${terminate ? 'terminate' : 'revoke'} needs the task ids`);
  if (ctx.args.list('destination').length > 0) throw new UsageError('-d does not apply to revoke: the broker keeps the revocation for every worker');
  if (given !== undefined && !terminate) throw new UsageError('--signal goes with --terminate (or use `control terminate`)');
  const signal = terminate ? signalName(given?.raw ?? 'SIGTERM', given?.source ?? '--signal') : undefined;
  const { app } = await ctx.loadApp();
  try {
    const { revoked } = await app.control.revoke([...ids], terminate ? { terminate: true, signal: signal! } : {});
    if (ctx.args.bool('json')) {
      ctx.output.out(`${toJson({ revoked, taskIds: ids, terminate, signal: signal ?? null })}\n`);
    } else {
      const stop = terminate ? `; a worker running one stops it (${signal})` : '';
      ctx.output.out(`tasks ${ids.join(', ')} flagged as revoked${stop}\n`);
    }
    return 0;
  } finally {
    await app.close();
  }
}

async function rateLimit(ctx: CommandContext, args: readonly string[]): Promise<number> {
  const [task, rate, ...extra] = args;
  if (task === undefined || rate === undefined) throw new UsageError('control rate-limit needs TASK and RATE, e.g. tasks.add 10/m');
  if (extra.length > 0) throw new UsageError(`control rate-limit takes TASK and RATE; unexpected: ${extra.join(' ')}`);
  try {
    parseRateLimit(rate, 'RATE');
  } catch (err) {
    if (!(err instanceof CeleriacError)) throw err;
    throw new UsageError(`control rate-limit: RATE must be like 10/s, 100/m, 5/h or a number of tasks a second (0 = no limit); got '${rate}'`);
  }
  const options = broadcastOptions(ctx.args);
  const { app } = await ctx.loadApp();
  try {
    const replies = byHost(await app.control.rateLimit(task, rate as RateLimit, options));
    if (ctx.args.bool('json')) {
      ctx.output.out(`${toJson(replies)}\n`);
      return Object.values(replies).some((r) => 'error' in r) ? 1 : 0;
    }
    if (Object.keys(replies).length === 0) {
      // Not Celery's "No nodes replied" error: the broker holds the rate, so it took effect anyway.
      ctx.output.out(`rate limit of ${task} set to ${rate} in the broker; no worker replied (a worker reads it when it starts)\n`);
      return 0;
    }
    const { text, errors } = replyLines(replies);
    ctx.output.out(text);
    return errors > 0 ? 1 : 0;
  } finally {
    await app.close();
  }
}

async function shutdown(ctx: CommandContext, args: readonly string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`control shutdown takes no arguments (name workers with -d); unexpected: ${args.join(' ')}`);
  const options = broadcastOptions(ctx.args);
  const { app } = await ctx.loadApp();
  try {
    const replies = byHost(await app.control.shutdown(options));
    if (Object.keys(replies).length === 0) throw new NoReplies();
    ctx.output.out(ctx.args.bool('json') ? `${toJson(replies)}\n` : replyLines(replies).text);
    return 0;
  } finally {
    await app.close();
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const [typed, ...rest] = ctx.args.positionals;
  if (typed === undefined) throw new UsageError(`control needs an action: ${ACTIONS.join(', ')}`);
  const action = (ACTIONS as readonly string[]).includes(typed) ? (typed as Action) : ALIASES[typed];
  if (action === undefined) throw new UsageError(`control: no such action '${typed}'; one of ${ACTIONS.join(', ')} (read-only questions are \`celeriac inspect\`)`);
  if (ctx.args.bool('terminate') && action !== 'revoke') throw new UsageError(`--terminate goes with revoke, not ${action}`);
  if (ctx.args.string('signal') !== undefined && action !== 'revoke' && action !== 'terminate') throw new UsageError(`--signal goes with revoke --terminate or terminate, not ${action}`);
  switch (action) {
    case 'revoke':
      return revoke(ctx, rest, ctx.args.bool('terminate'), ctx.args.string('signal'));
    case 'terminate': {
      // Celery's order, `terminate SIGNAL ID...`, when --signal is not given.
      const [first, ...ids] = rest;
      if (first !== undefined && ctx.args.string('signal') === undefined && /^SIG[A-Z0-9]+$/.test(first) && first in osConstants.signals) {
        return revoke(ctx, ids, true, { raw: first, source: 'the signal argument' });
      }
      return revoke(ctx, rest, true, ctx.args.string('signal'));
    }
    case 'rate-limit':
      return rateLimit(ctx, rest);
    case 'shutdown':
      return shutdown(ctx, rest);
  }
}

/** The `control` command. */
export const controlCommand: Command = { spec, run };
