// `celeriac events`: the event stream, one line per event as `celery events --dump` prints them (or
// one JSON object per line); --since replays the broker's stored history first. Runs until a signal.
import type { Events } from '../../events/events.js';
import { EVENT_TYPES, type AnyEvent, type EventHandlers, type EventInfo } from '../../events/types.js';
import { UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { dumpLine, jsonLine, TaskNames } from '../event-lines.js';

const spec: CommandSpec = {
  name: 'events',
  summary: 'print the events of workers and producers as they happen (and the stored history with --since)',
  positionals: '',
  description: [
    'Prints every event (task-received, task-succeeded, worker-heartbeat, ...) one line each, as',
    '`celery events --dump` does, prefixed with the event\'s id in the broker\'s event log; --json',
    'prints one JSON object per line instead: {"id", "event"}. --since first prints the events the',
    'broker stored from there, then goes on live without a gap or a repeat; the stream resumes where',
    'it was after a reconnect. Runs until Ctrl-C (--no-follow: the history only, then exits).',
    'Task events come from workers started with -E (--task-events) and, for task-sent, producers',
    'with the taskSendSentEvent setting; worker-online / heartbeat / offline always.',
  ],
  flags: [
    { flag: 'since', kind: 'string', metavar: 'ID|DURATION|ISO', help: 'replay stored events first: after event id ID, from DURATION ago (10m, 2h, 1d) or from an ISO 8601 time' },
    { flag: 'types', short: 't', kind: 'list', metavar: 'TYPES', help: 'only these event types, comma-separated (task-failed,task-retried)' },
    { flag: 'json', kind: 'bool', help: 'one JSON object per line: {"id": N, "event": {...}}' },
    { flag: 'no-follow', kind: 'bool', help: 'with --since: print the stored events and exit instead of going on live' },
  ],
  examples: [
    'celeriac events --broker ws://127.0.0.1:5680',
    'celeriac events --since 1h --types task-failed,task-retried',
    'celeriac events --since 1200 --json --no-follow > events.jsonl',
  ],
};

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Where --since starts: an event id, or a time (a duration ago, or an ISO 8601 time). */
export function parseSince(v: { raw: string; source: string }, now: number = Date.now()): number | Date {
  const t = v.raw.trim();
  if (/^\d+$/.test(t)) {
    const id = Number(t);
    if (Number.isSafeInteger(id)) return id;
  }
  const d = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/i.exec(t);
  if (d !== null) return new Date(now - Math.round(Number(d[1]) * DURATION_UNITS[d[2]!.toLowerCase()]!));
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const at = Date.parse(t);
    if (!Number.isNaN(at)) return new Date(at);
  }
  throw new UsageError(`${v.source} expects an event id, a duration (10m, 2h, 1d) or an ISO 8601 time, got '${v.raw}'`);
}

function typesOf(list: string[]): string[] {
  const known: readonly string[] = EVENT_TYPES;
  for (const t of list) if (!known.includes(t)) throw new UsageError(`--types: no event type '${t}' (known: ${EVENT_TYPES.join(', ')})`);
  return list;
}

/** Prints the stored events from `since` until caught up (--no-follow). */
async function printHistory(events: Events, since: number | Date, types: string[], print: (e: AnyEvent, info: EventInfo) => void): Promise<void> {
  let cursor = typeof since === 'number' ? since : 0;
  let from = since instanceof Date ? since : undefined;
  for (;;) {
    const page = await events.history({ since: cursor, limit: 1_000, ...(from === undefined ? {} : { from }), ...(types.length === 0 ? {} : { types }) });
    from = undefined;
    for (const e of page.events) print(e.event, { id: e.id, routingKey: e.routingKey, replayed: true });
    cursor = page.next;
    if (cursor >= page.last) return;
  }
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0) throw new UsageError(`events takes no arguments; unexpected: ${ctx.args.positionals.join(' ')}`);
  const sinceArg = ctx.args.string('since');
  const since = sinceArg === undefined ? undefined : parseSince(sinceArg);
  const types = typesOf(ctx.args.list('types'));
  const follow = !ctx.args.bool('no-follow');
  if (!follow && since === undefined) throw new UsageError('--no-follow prints the stored events: it needs --since');
  const json = ctx.args.bool('json');
  const names = new TaskNames();
  const print = (event: AnyEvent, info: EventInfo): void => ctx.output.out(`${json ? jsonLine(event, info) : dumpLine(event, info, names)}\n`);
  const { app } = await ctx.loadApp();
  try {
    if (!follow) {
      await printHistory(app.events, since!, types, print);
      return 0;
    }
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => { stop = resolve; });
    const off = ctx.onSignal(() => stop());
    try {
      const handlers: EventHandlers = types.length === 0 ? { '*': print } : Object.fromEntries(types.map((t) => [t, print]));
      const sub = await app.events.subscribe(handlers, {
        ...(since === undefined ? {} : { since }),
        onError: (err) => ctx.output.err(`celeriac events: ${err instanceof Error ? err.message : String(err)}\n`),
      });
      await stopped;
      await sub.close();
    } finally {
      off();
    }
    return 0;
  } finally {
    await app.close();
  }
}

/** The `events` command. */
export const eventsCommand: Command = { spec, run };
