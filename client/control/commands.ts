// The commands a worker answers on its control queue (Celery's control and inspect commands):
// a table from method name to handler; each returns the reply sent back to the caller.
import { parseRateLimit } from '../app/rate-limit.js';
import type { Worker } from '../worker/worker.js';
import type { ErrorReply, OkReply } from './types.js';

/** What a command handler sees: the worker (its rateLimits record rates changed through control) and the control state. */
export interface ControlState {
  readonly worker: Worker;
  /** Set by shutdown: the mailbox closes the worker (warm) once the reply is on its way. */
  shutdownRequested: boolean;
}

export type ControlHandler = (state: ControlState, args: Record<string, unknown>) => unknown;

function idsOf(v: unknown): string[] | undefined {
  const list = typeof v === 'string' ? [v] : v;
  return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string') ? list as string[] : undefined;
}

/** Celery's command names and arguments, so a Celery-shaped caller reads the same replies. */
export const COMMANDS: ReadonlyMap<string, ControlHandler> = new Map<string, ControlHandler>([
  ['ping', () => ({ ok: 'pong' })],
  ['active', (s) => s.worker.activeJobs()],
  ['reserved', (s) => s.worker.reservedJobs()],
  ['scheduled', (s) => s.worker.scheduledJobs()],
  // As Celery: built-in tasks (named celery.*) only when asked for.
  ['registered', (s, args) => s.worker.app.taskNames().filter((n) => args['builtins'] === true || !n.startsWith('celery.'))],
  ['stats', (s) => ({ ...s.worker.stats(), rate_limits: Object.fromEntries(s.worker.rateLimits) })],
  ['rate_limit', (s, args): OkReply | ErrorReply => {
    // The caller set the rate in the broker already (it binds every worker); this worker records it.
    const name = args['task_name'];
    const rate = args['rate_limit'] ?? null;
    if (typeof name !== 'string' || s.worker.app.getTask(name) === undefined) return { error: 'unknown task' };
    if (rate !== null) {
      try {
        parseRateLimit(rate, 'rate_limit');
      } catch {
        return { error: `Invalid rate limit string: ${String(rate)}` };
      }
    }
    const text = rate === null ? null : String(rate);
    s.worker.rateLimits.set(name, text);
    s.worker.log('info', `rate limit of ${name} set to ${text ?? '(the task\'s own)'} through remote control`);
    return { ok: text === null || parseRateLimit(text, 'rate_limit').count === 0 ? 'rate limit disabled successfully' : 'new rate limit set successfully' };
  }],
  ['revoke', async (s, args): Promise<OkReply | ErrorReply> => {
    const ids = idsOf(args['task_id']);
    if (ids === undefined) return { error: 'revoke needs task_id: a task id or a list of them' };
    const signal = args['signal'];
    await s.worker.results.revoke(ids, { terminate: args['terminate'] === true, ...(typeof signal === 'string' ? { signal } : {}) });
    return { ok: `tasks ${ids.join(', ')} flagged as revoked` };
  }],
  ['shutdown', (s): OkReply => {
    s.shutdownRequested = true;
    s.worker.log('warn', 'got shutdown from remote');
    return { ok: 'shutting down' };
  }],
]);
