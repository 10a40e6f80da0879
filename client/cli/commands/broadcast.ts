// What the commands that talk to running workers share (inspect, status, control): the --timeout
// and -d flags, --json, the broadcast options they make, and Celery's line when nobody answers.
import { parseDuration, type FlagSpec, type ParsedArgs } from '../args.js';
import { CliError } from '../errors.js';
import type { BroadcastOptions } from '../../control/types.js';

/** --json: one JSON document on stdout instead of the human table. */
export const JSON_FLAG = { flag: 'json', kind: 'bool', help: 'print one JSON document (for scripts) instead of the text for people' } as const satisfies FlagSpec;

/** -t and -d, as `celery inspect` / `celery control` take them. */
export const BROADCAST_FLAGS = [
  { flag: 'timeout', short: 't', env: 'CELERIAC_CONTROL_TIMEOUT', kind: 'string', metavar: 'MS', default: '1000', help: 'how long to collect replies' },
  { flag: 'destination', short: 'd', kind: 'list', metavar: 'NAMES', help: 'only these workers (hostnames, comma-separated)' },
] as const satisfies readonly FlagSpec[];

/** The broadcast options of --timeout and -d. */
export function broadcastOptions(args: ParsedArgs): BroadcastOptions {
  const t = args.string('timeout');
  const options: BroadcastOptions = { timeout: t === undefined ? 1000 : parseDuration(t) };
  const d = args.list('destination');
  if (d.length > 0) options.destination = d;
  return options;
}

/** Celery's wording when nobody answers. */
export const NO_REPLY = 'Error: No nodes replied within time constraint';

/** Thrown when no worker answered: Celery's line as is, exit 1. */
export class NoReplies extends CliError {
  constructor() {
    super(NO_REPLY, 1, { verbatim: true });
  }
}

/** Replies as collected (one `{ host: reply }` each) merged into one object, hostnames sorted. */
export function byHost<R>(replies: ReadonlyArray<Record<string, R>>): Record<string, R> {
  const merged: Record<string, R> = {};
  // A reply is parsed JSON: a '__proto__' key would set the prototype through Object.assign.
  for (const r of replies) for (const [host, v] of Object.entries(r)) if (host !== '__proto__') merged[host] = v;
  return Object.fromEntries(Object.keys(merged).sort().map((h) => [h, merged[h]!]));
}

/** "1 node" / "3 nodes". */
export function nodes(n: number): string {
  return `${n} ${n === 1 ? 'node' : 'nodes'}`;
}
