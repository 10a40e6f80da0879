// `celeriac result ID`: the task's state and result (or error) as JSON, from the broker's result
// store; --wait waits for a final state. An id the broker does not know exits 1.
import type { CeleriacError } from '../../../shared/errors.js';
import { parseDuration, UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { toJson } from '../output.js';

const spec: CommandSpec = {
  name: 'result',
  summary: 'print a task\'s state and result',
  positionals: '<task-id>',
  description: [
    'Prints the task\'s state and result as JSON: {"id", "state", "result", "date_done"}; for a failed',
    'task "result" holds the error (exc_type, exc_message). --traceback adds the remote stack.',
    'An id the broker does not know (never sent, expired, forgotten) exits 1.',
  ],
  flags: [
    { flag: 'wait', short: 'w', kind: 'bool', help: 'wait until the task has finished (SUCCESS, FAILURE or REVOKED)' },
    { flag: 'timeout', short: 't', env: 'CELERIAC_TIMEOUT', kind: 'string', metavar: 'MS', default: 'wait as long as it takes', help: 'with --wait: give up after this long (exit 1)' },
    { flag: 'traceback', kind: 'bool', help: 'include the traceback of a failed task' },
  ],
  examples: ['celeriac result 5f0c8a4e-... --broker ws://127.0.0.1:5680', 'celeriac result -A ./tasks.js 5f0c8a4e-... --wait --timeout 30s --traceback'],
};

/** One line for a failed task: name, id, the remote error; the remote stack too when `stack`. */
export function describeRemoteFailure(name: string, id: string, err: CeleriacError, stack: boolean): string {
  const d = err.details ?? {};
  const line = `task ${name}[${id}] failed: ${String(d['remoteName'])}: ${String(d['remoteMessage'])}`;
  return stack && typeof d['remoteStack'] === 'string' ? `${line}\n${d['remoteStack']}` : line;
}

function unknownId(id: string): CliError {
  return new CliError(`no task with id ${id} is known to the broker (never sent, expired or forgotten)`);
}

async function run(ctx: CommandContext): Promise<number> {
  const [id, ...extra] = ctx.args.positionals;
  if (id === undefined || id.trim() === '') throw new UsageError('result needs a task id, e.g. celeriac result 5f0c8a4e-...');
  if (extra.length > 0) throw new UsageError(`result takes one task id; unexpected: ${extra.join(' ')}`);
  const wait = ctx.args.bool('wait');
  const t = ctx.args.string('timeout');
  const timeout = t === undefined ? undefined : parseDuration(t);
  const { app } = await ctx.loadApp();
  try {
    const handle = app.asyncResult(id);
    if (wait) {
      try {
        // propagate: false — a failure is a state to print, not an error of this command.
        await handle.get({ propagate: false, ...(timeout === undefined ? {} : { timeout }) });
      } catch (err) {
        if ((err as CeleriacError).code === 'ERR_UNKNOWN_TASK_ID') throw unknownId(id);
        throw err;
      }
    }
    const meta = await handle.meta();
    if (meta === null) throw unknownId(id);
    const out: Record<string, unknown> = { id: meta.task_id || id, state: meta.status, result: meta.result, date_done: meta.date_done };
    if (meta.name !== undefined) out['name'] = meta.name;
    if (ctx.args.bool('traceback')) out['traceback'] = meta.traceback;
    ctx.output.out(`${toJson(out)}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** The `result` command. */
export const resultCommand: Command = { spec, run };
