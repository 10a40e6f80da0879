// Messages a worker will not run: unreadable ones (a refused content type, a body that does not
// decode), tasks nobody registered here, and tasks delivered more often than their queue's
// delivery limit. Each gets a log line naming it, a FAILURE recorded when it names a task id (so
// its caller does not wait forever), and a reject without requeue (to the dead-letter exchange).
import { CeleriacError } from '../../shared/errors.js';
import type { Delivery } from '../transport/transport.js';
import type { TaskRequest } from '../../shared/messages/types.js';
import { failureOf, workerError } from './finish-plan.js';
import type { Worker } from './worker.js';

/** A message that cannot be read: rejected, and a failure recorded when it names a task id. */
export function refuseMessage(w: Worker, msg: Delivery, err: unknown): void {
  const headers = msg.properties.headers ?? {};
  const id = typeof headers['id'] === 'string' ? headers['id'] : msg.properties.correlationId;
  const reason = err instanceof Error ? err.message : String(err);
  w.log('error', `rejected a message from ${msg.fields.exchange || '(default)'}/${msg.fields.routingKey}${id === undefined ? '' : ` (task id ${id})`}: ${reason}`);
  w.emit('task-rejected', { uuid: id ?? '', reason });
  if (id === undefined) {
    msg.reject({ requeue: false });
    return;
  }
  const code = err instanceof CeleriacError ? err.code : 'ERR_INVALID_ARGUMENT';
  const e = workerError(err instanceof CeleriacError ? err.name : 'ContentDisallowed', code, reason);
  recordAndReject(w, msg, id, typeof headers['task'] === 'string' ? headers['task'] : '', e);
}

/** A task this worker does not know: a clear log line, FAILURE recorded, message rejected. */
export function rejectUnknownTask(w: Worker, msg: Delivery, req: TaskRequest): void {
  const message = `Received unregistered task of type '${req.task}' (id ${req.id}); the message was rejected. Registered tasks: ${w.app.taskNames().join(', ') || '(none)'}`;
  w.log('error', message);
  w.emit('task-rejected', { uuid: req.id, name: req.task, reason: 'unregistered task' });
  recordAndReject(w, msg, req.id, req.task, workerError('NotRegistered', 'ERR_UNKNOWN_TASK', `no task named '${req.task}' is registered on worker ${w.hostname}`));
}

/**
 * A task delivered `count` times (earlier copies included) with a delivery limit of `limit`: every
 * run so far ended without an ack (its worker died, or lost its connection, e.g. by blocking its
 * event loop past the heartbeat). It is not run again: FAILURE (ERR_DELIVERY_LIMIT), then rejected.
 */
export function refuseOverDeliveryLimit(w: Worker, msg: Delivery, req: TaskRequest, count: number, limit: number): void {
  const message = `task ${req.task}[${req.id}] was delivered ${count} times, more than its queue's delivery limit of ${limit} (taskQueueDeliveryLimit): no run ended with an ack, so it is not run again`;
  w.log('error', `${message}; recorded FAILURE and rejected (to the queue's dead-letter exchange, if any)`);
  w.emit('task-rejected', { uuid: req.id, name: req.task, reason: 'delivery limit' });
  recordAndReject(w, msg, req.id, req.task, workerError('DeliveryLimitExceeded', 'ERR_DELIVERY_LIMIT', message), req);
}

/** Stores the FAILURE first, then rejects; if the store fails the message goes back instead (nothing lost). */
function recordAndReject(w: Worker, msg: Delivery, id: string, task: string, e: ReturnType<typeof workerError>, req?: TaskRequest): void {
  const rec = failureOf(w.app.settings, req ?? ({ id, task, retries: 0 } as TaskRequest), 'FAILURE', e);
  const p = w.results.storeResult(rec.taskId, rec.state, rec.body, rec.options).then(
    () => msg.reject({ requeue: false }),
    (err: unknown) => {
      w.log('error', `could not record the failure of ${id}: ${String(err)}; requeueing it`);
      if (!msg.settled) msg.nack({ requeue: true });
    },
  );
  w.track(p);
}
