// What a running worker offers besides running tasks: its remote-control mailbox and its events.
// Attached by Worker.start() once consuming, detached by close() before the connection closes.
import { fail } from '../../shared/errors.js';
import { attachControl } from '../control/mailbox.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, attachWorkerEvents } from '../events/worker-events.js';
import type { Worker } from './worker.js';

/** The worker options services read (see WorkerOptions). */
export interface ServiceOptions {
  sendEvents?: boolean | undefined;
  heartbeatInterval?: number | undefined;
}

/** Starts control and events for `worker`; resolves with the function that stops both. */
export async function attachWorkerServices(worker: Worker, options: ServiceOptions): Promise<() => Promise<void>> {
  const heartbeatInterval = options.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  if (!Number.isFinite(heartbeatInterval) || heartbeatInterval < 0) throw fail('ERR_INVALID_ARGUMENT', 'worker heartbeatInterval must be a number of ms >= 0');
  const detachEvents = await attachWorkerEvents(worker, {
    taskEvents: options.sendEvents ?? worker.app.settings.workerSendTaskEvents, heartbeatInterval,
  });
  let detachControl: () => Promise<void>;
  try {
    detachControl = await attachControl(worker);
  } catch (err) {
    await detachEvents();
    throw err;
  }
  return async () => {
    await detachControl();
    await detachEvents();
  };
}
