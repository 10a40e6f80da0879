// One task from "may start" to its finish: expiry and revocation checks, early ack, STARTED,
// the pool run, then the outcome turned into one finish (ack + result + follow-up messages).
import type { FinishResult } from '../../shared/frames.js';
import { chordArgs, CHORD_HEADER, CHORD_IMMUTABLE_HEADER } from './chord-args.js';
import { failureOf, failurePublishes, resultOf, retryPublish, successPublishes, workerError } from './finish-plan.js';
import { limitsOf, poolJobOf, settleable, type Job } from './job.js';
import type { PoolOutcome, SerializedError } from './pool-types.js';
import type { PreparedTask } from '../tasks/producer.js';
import type { Worker } from './worker.js';

/** Runs `job` and finishes it; rejects only when the finish itself could not be sent. */
export async function executeJob(w: Worker, job: Job): Promise<void> {
  const { req, def, msg } = job;
  const s = w.app.settings;
  const store = !(req.ignoreResult || def.options.ignoreResult);
  const acksLate = def.options.acksLate;
  const finish = async (result: FinishResult | undefined, next: PreparedTask[], ack: boolean): Promise<void> => {
    await finishJob(w, job, store ? result : undefined, next, ack);
  };

  if (job.revoked !== undefined) {
    w.emit('task-revoked', { uuid: req.id, name: req.task, terminated: false, expired: false });
    return finish(undefined, [], true);
  }
  if (req.expires !== null && req.expires.getTime() <= Date.now()) {
    w.log('info', `task ${req.task}[${req.id}] expired at ${req.expires.toISOString()}: REVOKED, not run`);
    w.emit('task-revoked', { uuid: req.id, name: req.task, terminated: false, expired: true });
    return finish(failureOf(s, req, 'REVOKED', workerError('TaskRevokedError', 'ERR_TASK_REVOKED', 'expired')), [], true);
  }
  if (!acksLate) {
    msg.ack();
    job.acked = true;
  }
  const started = Date.now();
  if (def.options.trackStarted && store) {
    const rec = resultOf(s, req, 'STARTED', { pid: process.pid, hostname: w.hostname }, null);
    void w.connection.storeResult(rec.taskId, rec.state, rec.body, rec.options).catch(() => undefined);
  }
  if (w.listenerCount('task-started') > 0) w.emit('task-started', { uuid: req.id, name: req.task, pid: process.pid, hostname: w.hostname });

  let outcome: PoolOutcome;
  const group = req.headers[CHORD_HEADER];
  const chord = typeof group === 'string' ? await chordArgs(w.connection, group, w.app.resultAccept) : undefined;
  if (chord !== undefined && !chord.ok) outcome = { status: 'failure', error: chord.error };
  else {
    const withResults = chord !== undefined && req.headers[CHORD_IMMUTABLE_HEADER] !== true;
    outcome = await w.pool.run(poolJobOf(job, w.hostname, withResults ? [chord.results, ...req.args] : req.args));
  }
  w.countRun(def.name);
  w.releaseSlot(job);
  if (w.cold && acksLate && outcome.status !== 'success') {
    // Cut short by a cold shutdown: not acked, so the broker gives it to another worker.
    w.log('warn', `task ${req.task}[${req.id}] was stopped by a cold shutdown; left for redelivery`);
    return;
  }
  if (deliveryLost(w, job, `while it ran (it ended: ${outcome.status})`)) return;
  const runtime = (Date.now() - started) / 1000;

  switch (outcome.status) {
    case 'success': {
      // Reported once the broker committed the finish: a refused one (delivery lost) is no success.
      const sent = await finishJob(w, job, store ? resultOf(s, req, 'SUCCESS', outcome.value, null) : undefined, successPublishes(s, w.app, req, outcome.value), acksLate);
      if (sent && w.listenerCount('task-succeeded') > 0) w.emit('task-succeeded', { uuid: req.id, name: req.task, result: outcome.value, runtime });
      return;
    }
    case 'retry': {
      const max = outcome.maxRetries;
      if (max !== null && req.retries >= max) {
        const error = outcome.error ?? workerError('MaxRetriesExceededError', 'ERR_TASK_FAILED', `can't retry ${req.task}[${req.id}]: ${max} retries done`);
        w.log('warn', `task ${req.task}[${req.id}] gave up after ${req.retries} retries`);
        return failed(w, job, error, runtime, finish);
      }
      const why = outcome.error === null ? 'retry requested' : `${outcome.error.name}: ${outcome.error.message}`;
      w.log('info', `task ${req.task}[${req.id}] retry ${req.retries + 1} in ${outcome.countdown} ms (${why})`);
      w.emit('task-retried', { uuid: req.id, name: req.task, exception: why, retries: req.retries + 1 });
      const again = retryPublish(s, def, req, job.queue, { exchange: msg.fields.exchange, routingKey: msg.fields.routingKey }, outcome.countdown);
      const info = outcome.error ?? workerError('Retry', 'ERR_TASK_FAILED', why);
      // The retry message is published even when results are ignored: it is the task itself.
      await finishJob(w, job, store ? failureOf(s, req, 'RETRY', info) : undefined, [again], acksLate);
      return;
    }
    case 'failure':
      return failed(w, job, outcome.error, runtime, finish);
    case 'timeout':
      w.log('error', `task ${req.task}[${req.id}] hit its hard time limit of ${limitsOf(job).hard} ms and was stopped`);
      return failed(w, job, outcome.error, runtime, finish);
    case 'lost':
      if (acksLate && def.options.rejectOnWorkerLost) {
        w.log('warn', `the runner of ${req.task}[${req.id}] died; requeueing it (rejectOnWorkerLost)`);
        if (settleable(job)) msg.nack({ requeue: true });
        return;
      }
      w.log('error', `the runner of ${req.task}[${req.id}] died: ${outcome.error.message}`);
      return failed(w, job, outcome.error, runtime, finish);
    case 'terminated':
      w.emit('task-revoked', { uuid: req.id, name: req.task, terminated: true, expired: false });
      return finish(failureOf(s, req, 'REVOKED', outcome.error), [], acksLate);
  }
}

/** A failure: FAILURE stored, errbacks sent; with late acks and acksOnFailureOrTimeout off, requeued instead. */
function failed(w: Worker, job: Job, error: SerializedError, runtime: number, finish: (r: FinishResult | undefined, n: PreparedTask[], ack: boolean) => Promise<void>): Promise<void> {
  const { req, def, msg } = job;
  const s = w.app.settings;
  w.emit('task-failed', { uuid: req.id, name: req.task, exception: `${error.name}: ${error.message}`, traceback: error.stack, runtime });
  w.log('warn', `task ${req.task}[${req.id}] failed: ${error.name}: ${error.message}`);
  const result = failureOf(s, req, 'FAILURE', error);
  const errbacks = failurePublishes(s, w.app, req);
  if (def.options.acksLate && !s.taskAcksOnFailureOrTimeout) {
    // Celery's reject(requeue=False): the failure is recorded, then the message goes to the
    // queue's dead-letter exchange (or away) instead of being acked.
    return finish(result, errbacks, false).then(() => {
      if (settleable(job)) msg.reject({ requeue: false });
    });
  }
  return finish(result, errbacks, def.options.acksLate);
}

/**
 * True (and logged) when the job was to be acked late but the broker took its delivery back while
 * it ran (its socket dropped, or its consumer was cancelled after an ack timeout). The broker
 * delivers the task again and that run owns its outcome. Nothing is sent for this one: its
 * follow-up publishes (a chain's next step, callbacks, a retry) would go out twice, as Celery's
 * at-least-once does, and its result could overwrite the owner's or complete a chord early.
 */
function deliveryLost(w: Worker, job: Job, when: string): boolean {
  if (job.acked || settleable(job)) return false;
  w.log('warn', `task ${job.req.task}[${job.req.id}]: delivery lost ${when}; not recorded: the broker redelivers the task and that run finishes it`);
  return true;
}

/**
 * Sends the end of a job: a plain ack when there is nothing else, otherwise one finish. Resolves
 * false when nothing was sent because the delivery was lost meanwhile (see deliveryLost).
 */
async function finishJob(w: Worker, job: Job, result: FinishResult | undefined, next: PreparedTask[], ack: boolean): Promise<boolean> {
  const conn = w.connection;
  if (result === undefined && next.length === 0) {
    if (ack && settleable(job)) job.msg.ack();
    return true;
  }
  for (const p of next) await w.app.declarer.ensure(conn, p.queue);
  // The declares above may have outlasted the socket the delivery came on.
  if (deliveryLost(w, job, 'before its finish was sent')) return false;
  const req: Parameters<typeof conn.finish>[0] = { publishes: next.map((p) => p.publish) };
  if (result !== undefined) req.result = result;
  if (ack && settleable(job)) req.ack = job.msg;
  await conn.finish(req);
  return true;
}

