// How a failure reaches the user: one line on stderr naming what was wrong, and an exit code
// (0 ok, 1 failed, 2 bad usage). The stack is shown only at -l debug.
import { CeleriacError } from '../../shared/errors.js';
import { UsageError } from './args.js';

/** A failure the command has already put into words; `exitCode` 1 (failed) or 2 (bad usage). */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** Print the message as is, without the "celeriac:" prefix (Celery's own wording). */
  readonly verbatim: boolean;
  constructor(message: string, readonly exitCode: 1 | 2 = 1, options?: { cause?: unknown; verbatim?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.verbatim = options?.verbatim === true;
  }
}

/** Exit codes, as --help states them. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The one line and the exit code for any error a command threw; `line` is what stderr shows. */
export function describeError(err: unknown, command: string | undefined): { message: string; exitCode: 1 | 2; line: string } {
  const d = describe(err, command);
  return { ...d, line: err instanceof CliError && err.verbatim ? d.message : `celeriac: ${d.message}` };
}

function describe(err: unknown, command: string | undefined): { message: string; exitCode: 1 | 2 } {
  const hint = command === undefined ? 'celeriac --help' : `celeriac ${command} --help`;
  if (err instanceof UsageError) return { message: `${err.message} (see ${hint})`, exitCode: 2 };
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof CeleriacError) {
    const first = err.message.split('\n')[0]!;
    switch (err.code) {
      // connect() words these with the URL and the socket error: "cannot connect to ws://...: ECONNREFUSED".
      case 'ERR_CONNECTION_CLOSED': return { message: `broker unreachable: ${first}`, exitCode: 1 };
      // Sending a task gave up (taskPublishRetryPolicy): "cannot send task ... to ws://...: ...".
      case 'ERR_PUBLISH_FAILED': return { message: `broker unreachable: ${first}`, exitCode: 1 };
      case 'ERR_ACCESS_REFUSED': return { message: `the broker refused the connection: ${first}`, exitCode: 1 };
      case 'ERR_TIMEOUT': return { message: `the broker did not answer in time: ${first}`, exitCode: 1 };
      // A bad URL or setting is the user's input: the same exit code as a bad flag.
      case 'ERR_INVALID_ARGUMENT': return { message: first, exitCode: 2 };
      // A broker URL of a transport this build lacks (amqp://, redis://) is input too.
      case 'ERR_TRANSPORT_UNAVAILABLE': return { message: first, exitCode: 2 };
      default: return { message: first, exitCode: 1 };
    }
  }
  return { message: `unexpected error: ${err instanceof Error ? err.message : String(err)}`, exitCode: 1 };
}

/** The stack of an error and of its causes, for -l debug. */
export function stackOf(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 8 && cur !== undefined && cur !== null; depth++) {
    parts.push(cur instanceof Error ? (cur.stack ?? `${cur.name}: ${cur.message}`) : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join('\nCaused by: ');
}
