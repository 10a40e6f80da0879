// `celeriac schedule list|add|remove|pause|resume`: the broker's periodic-task entries through
// app.schedules. A running beat picks every change up without a restart.
import type { BeatEntryInput, MissedRunPolicy, ScheduleInput } from '../../beat/types.js';
import type { ScheduleInfo, ScheduleList, Schedules } from '../../beat/schedules-api.js';
import { parseChoice, parseDuration, parseInteger, parseJson, UsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { toJson } from '../output.js';

const ACTIONS = ['list', 'add', 'remove', 'pause', 'resume'] as const;
type Action = (typeof ACTIONS)[number];
const MISSED: readonly MissedRunPolicy[] = ['skip', 'once', 'all'];

const spec: CommandSpec = {
  name: 'schedule',
  summary: 'list, add, remove, pause or resume periodic-task entries in the broker',
  positionals: '<list | add NAME TASK | remove NAME | pause NAME | resume NAME>',
  description: [
    'Entries live in the broker; a running beat picks a change up at once, without a restart.',
    '  list                 every entry: task, schedule, next and last run, runs, paused; and the leading beat',
    '  add NAME TASK        add or replace an entry: one of --every, --cron or --at',
    '  remove NAME          remove an entry        pause NAME / resume NAME   stop / restart firing it',
    'An entry the app\'s beatSchedule names is replaced by the settings when a beat of that app starts.',
  ],
  flags: [
    { flag: 'every', kind: 'string', metavar: 'DURATION', help: 'add: run every DURATION (500ms, 10s, 5m, 1h)' },
    { flag: 'cron', kind: 'string', metavar: 'EXPR', help: "add: a crontab of 5 fields ('*/15 9-17 * * mon-fri') or 6 (seconds first)" },
    { flag: 'at', kind: 'string', metavar: 'ISO', help: 'add: run once at this time (2026-12-03T10:00:00Z)' },
    { flag: 'args', kind: 'string', metavar: 'JSON', help: 'add: positional arguments, a JSON array' },
    { flag: 'kwargs', kind: 'string', metavar: 'JSON', help: 'add: keyword arguments, a JSON object' },
    { flag: 'queue', short: 'Q', kind: 'string', metavar: 'NAME', help: 'add: the queue to send to (default: the app\'s routing)' },
    { flag: 'tz', kind: 'string', metavar: 'ZONE', default: "the app's timezone", help: 'add: IANA time zone the crontab is read in (Europe/Paris)' },
    { flag: 'missed', kind: 'string', metavar: MISSED.join('|'), default: 'skip', help: 'add: runs missed while no beat was up: skip them, fire once, or fire all' },
    { flag: 'limit', kind: 'string', metavar: 'N', help: 'add: stop after N runs' },
    { flag: 'json', kind: 'bool', help: 'list: print JSON instead of a table' },
  ],
  examples: [
    'celeriac schedule add add-every-10s tasks.add --every 10s --args "[16, 16]"',
    "celeriac schedule add report tasks.report --cron '0 9 * * mon-fri' --tz Europe/Paris",
    'celeriac schedule list --broker ws://127.0.0.1:5680',
    'celeriac schedule pause report',
  ],
};

/** The entry `add` describes with its flags. */
function entryOf(args: ParsedArgs, task: string): BeatEntryInput {
  const given = (['every', 'cron', 'at'] as const).filter((f) => args.string(f) !== undefined);
  if (given.length !== 1) throw new UsageError(`schedule add needs exactly one of --every, --cron or --at${given.length > 1 ? `; got ${given.map((f) => `--${f}`).join(' and ')}` : ''}`);
  let schedule: ScheduleInput;
  const every = args.string('every');
  const cron = args.string('cron');
  if (every !== undefined) schedule = { every: parseDuration(every) };
  else if (cron !== undefined) schedule = cron.raw;
  else schedule = { at: args.string('at')!.raw };
  const entry: BeatEntryInput = { task, schedule };
  const a = args.string('args');
  if (a !== undefined) entry.args = parseJson(a, 'a JSON array', (x): x is unknown[] => Array.isArray(x));
  const k = args.string('kwargs');
  if (k !== undefined) {
    entry.kwargs = parseJson(k, 'a JSON object', (x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x));
  }
  const q = args.string('queue');
  if (q !== undefined) entry.options = { queue: q.raw };
  const tz = args.string('tz');
  if (tz !== undefined) entry.timezone = tz.raw;
  const missed = args.string('missed');
  if (missed !== undefined) entry.missed = parseChoice(missed, MISSED);
  const limit = args.string('limit');
  if (limit !== undefined) entry.limit = parseInteger(limit, 1);
  return entry;
}

const when = (d: Date | null): string => (d === null ? '-' : d.toISOString());

/** `list` as a table, then the leader line. */
function table(list: ScheduleList): string {
  const head = ['NAME', 'TASK', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'RUNS', 'PAUSED', 'SOURCE'];
  const rows = list.entries.map((e) => [
    e.name, e.task ?? `(unreadable: ${e.error ?? '?'})`, e.schedule, when(e.nextRunAt), when(e.lastRunAt), String(e.runCount), e.paused ? 'yes' : 'no', e.source,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const l = list.leader;
  const leader = l === null
    ? 'leader: none (no beat holds the lease)'
    : `leader: ${l.holder} (epoch ${l.epoch}, lease until ${l.expiresAt.toISOString()})`;
  return [...(rows.length === 0 ? ['no schedule entries'] : [line(head), ...rows.map(line)]), '', leader, ''].join('\n');
}

/** One entry after a change, in one line. */
function summary(what: string, e: ScheduleInfo): string {
  return `schedule '${e.name}' ${what}: ${e.task ?? '?'} ${e.schedule}; next run ${when(e.nextRunAt)}${e.paused ? ' (paused)' : ''}\n`;
}

function oneName(action: Action, rest: readonly string[]): string {
  if (rest.length !== 1) throw new UsageError(`schedule ${action} takes one entry name${rest.length > 1 ? `; unexpected: ${rest.slice(1).join(' ')}` : ''}`);
  return rest[0]!;
}

async function run(ctx: CommandContext): Promise<number> {
  const [action, ...rest] = ctx.args.positionals;
  if (action === undefined) throw new UsageError(`schedule needs what to do: ${ACTIONS.join(', ')}`);
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`schedule: no such action '${action}'; one of ${ACTIONS.join(', ')}`);
  // Check the arguments before connecting, so a typo is a usage error even with no broker up.
  const act = action as Action;
  let job: (s: Schedules) => Promise<string>;
  switch (act) {
    case 'list': {
      if (rest.length > 0) throw new UsageError(`schedule list takes no arguments; unexpected: ${rest.join(' ')}`);
      const asJson = ctx.args.bool('json');
      job = async (s) => {
        const list = await s.list();
        return asJson ? `${toJson(list)}\n` : table(list);
      };
      break;
    }
    case 'add': {
      if (rest.length !== 2) throw new UsageError(`schedule add takes NAME TASK${rest.length > 2 ? `; unexpected: ${rest.slice(2).join(' ')}` : ''}`);
      const [name, task] = rest as [string, string];
      const entry = entryOf(ctx.args, task);
      job = async (s) => summary('stored', await s.upsert(name, entry));
      break;
    }
    case 'remove': {
      const name = oneName('remove', rest);
      job = async (s) => {
        if (!(await s.remove(name))) throw new CliError(`no schedule entry named '${name}'`);
        return `schedule '${name}' removed\n`;
      };
      break;
    }
    case 'pause':
    case 'resume': {
      const name = oneName(act, rest);
      job = async (s) => (act === 'pause' ? summary('paused', await s.pause(name)) : summary('resumed', await s.resume(name)));
      break;
    }
  }
  const { app } = await ctx.loadApp();
  try {
    ctx.output.out(await job(app.schedules));
    return 0;
  } finally {
    await app.close();
  }
}

/** The `schedule` command. */
export const scheduleCommand: Command = { spec, run };
