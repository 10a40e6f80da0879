// The task message of one fire: built by prepareTask exactly as app.sendTask builds one (routing,
// serializer, tracking as PENDING), with the entry's args, kwargs and publish options, and two
// headers that say which entry and which scheduled time it was sent for.
import type { Settings } from '../app/settings.js';
import { prepareTask, type PreparedTask } from '../tasks/producer.js';
import type { CallOptions, TaskOptions } from '../tasks/types.js';
import type { BeatEntry } from './types.js';

/** Message header naming the beat entry a task was sent for. */
export const ENTRY_HEADER = 'beat_entry';
/** Message header with the scheduled time (ISO 8601) a task was sent for; de-duplication is by (entry, this time). */
export const SCHEDULED_HEADER = 'beat_scheduled_at';

/**
 * The message for entry `name` at `scheduledAt`. The task's own options (when this app registers
 * it) apply below the entry's, as for a call: entry options win, then the task's, then settings.
 */
export function fireMessage(
  settings: Readonly<Settings>,
  name: string,
  entry: BeatEntry,
  scheduledAt: number,
  taskOptions: Readonly<TaskOptions> = {},
): PreparedTask {
  const o = entry.options;
  const call: CallOptions = {
    headers: { ...o.headers, [ENTRY_HEADER]: name, [SCHEDULED_HEADER]: new Date(scheduledAt).toISOString() },
  };
  if (o.queue !== undefined) call.queue = o.queue;
  if (o.routingKey !== undefined) call.routingKey = o.routingKey;
  if (o.exchange !== undefined) call.exchange = o.exchange;
  if (o.priority !== undefined) call.priority = o.priority;
  if (o.expires !== undefined) call.expires = o.expires;
  return prepareTask(settings, entry.task, entry.args, entry.kwargs, call, taskOptions);
}
