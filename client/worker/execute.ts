// One task from "may start" to its finish: expiry and revocation checks, early ack, STARTED,
// the pool run, then the outcome turned into one finish (ack + result + follow-up messages).
// No path acks a task with nothing stored: an end that cannot be built (a result or follow-up that
// does not encode) or that the broker refuses becomes a FAILURE; one cut off by a dropped socket
// is recovered after the reconnect (recover()).
import { CeleriacError } from '../../shared/errors.js';
import type { FinishResult } from '../../shared/frames.js';
import { READY_STATES, type TaskState } from '../../shared/task-states.js';
import { serializeError } from '../results/remote-error.js';
import type { FinishRequest } from '../result-backend/result-backend.js';
import { chordArgs, CHORD_HEADER, CHORD_IMMUTABLE_HEADER } from './chord-args.js';
import { failureOf, failurePublishes, resultOf, retryPublish, successPublishes, withRuntime, workerError } from './finish-plan.js';
import { limitsOf, poolJobOf, settleable, type Job } from './job.js';
import type { PoolOutcome, SerializedError } from './pool-types.js';
import type { PreparedTask } from '../tasks/producer.js';
import type { Worker } from './worker.js';

/** One way to end a job: the result to store, the messages that follow, how its delivery is settled. */
interface Ending {
  /** undefined when results are ignored. */
  result: FinishResult | undefined;
  next: PreparedTask[];
  /** Ack the delivery in the finish (late acks; an early-acked one is settled already). */
  ack: boolean;
  /** Reject it (no requeue) once the finish committed: late acks with taskAcksOnFailureOrTimeout off. */
  reject?: boolean;
  /** Called once the broker committed the finish (not when it was refused, cut off or not sent). */
  sent?: () => void;
}

/** Runs `job` and finishes it. Every end is handled here; a rejection would be a bug. */
export async function executeJob(w: Worker, job: Job): Promise<void> {
  const { req, def, msg } = job;
  const s = w.app.settings;
  const acksLate = def.options.acksLate;
  const stored = (record: () => FinishResult): FinishResult | undefined => (storesResult(job) ? record() : undefined);
  const giveUp = (err: unknown): Promise<void> => unfinished(w, job, err);

  const revokedCheck = job.revoked === undefined ? w.revokedBeforeStart(req.id) : undefined;
  if (revokedCheck !== undefined && await revokedCheck) job.revoked = { terminate: false };
  if (job.revoked !== undefined) {
    w.emit('task-revoked', { uuid: req.id, name: req.task, terminated: false, expired: false });
    return endRevoked(w, job);
  }
  if (req.expires !== null && req.expires.getTime() <= Date.now()) {
    w.log('info', `task ${req.task}[${req.id}] expired at ${req.expires.toISOString()}: REVOKED, not run`);
    w.emit('task-revoked', { uuid: req.id, name: req.task, terminated: false, expired: true });
    const error = workerError('TaskRevokedError', 'ERR_TASK_REVOKED', 'expired');
    return end(w, job, () => ({ result: stored(() => failureOf(s, req, 'REVOKED', error)), next: [], ack: true }), giveUp);
  }
  if (!acksLate) {
    msg.ack();
    job.acked = true;
  }
  const started = Date.now();
  if (def.options.trackStarted && storesResult(job)) {
    const rec = resultOf(s, req, 'STARTED', { pid: process.pid, hostname: w.hostname }, null);
    void w.results.storeResult(rec.taskId, rec.state, rec.body, rec.options).catch(() => undefined);
  }
  if (w.listenerCount('task-started') > 0) w.emit('task-started', { uuid: req.id, name: req.task, pid: process.pid, hostname: w.hostname });

  let outcome: PoolOutcome;
  const group = req.headers[CHORD_HEADER];
  const chord = typeof group === 'string' ? await chordArgs(w.results, group, w.app.resultAccept) : undefined;
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
      const value = outcome.value;
      return end(w, job, () => ({
        result: stored(() => withRuntime(resultOf(s, req, 'SUCCESS', value, null), runtime)), next: successPublishes(s, w.app, req, value), ack: acksLate,
        // Reported once the broker committed the finish: a lost delivery or a refused finish is no success.
        sent: () => {
          if (w.listenerCount('task-succeeded') > 0) w.emit('task-succeeded', { uuid: req.id, name: req.task, result: value, runtime });
        },
      }), (err) => failed(w, job, serializeError(err), runtime));
    }
    case 'retry': {
      const max = outcome.maxRetries;
      if (max !== null && req.retries >= max) {
        const error = outcome.error ?? workerError('MaxRetriesExceededError', 'ERR_TASK_FAILED', `can't retry ${req.task}[${req.id}]: ${max} retries done`);
        w.log('warn', `task ${req.task}[${req.id}] gave up after ${req.retries} retries`);
        return failed(w, job, error, runtime);
      }
      const { countdown } = outcome;
      const why = outcome.error === null ? 'retry requested' : `${outcome.error.name}: ${outcome.error.message}`;
      const info = outcome.error ?? workerError('Retry', 'ERR_TASK_FAILED', why);
      return end(w, job, () => {
        const again = retryPublish(s, def, req, job.queue, { exchange: msg.fields.exchange, routingKey: msg.fields.routingKey }, countdown);
        w.log('info', `task ${req.task}[${req.id}] retry ${req.retries + 1} in ${countdown} ms (${why})`);
        w.emit('task-retried', { uuid: req.id, name: req.task, exception: why, retries: req.retries + 1 });
        // The retry message is published even when results are ignored: it is the task itself.
        return { result: stored(() => withRuntime(failureOf(s, req, 'RETRY', info), runtime)), next: [again], ack: acksLate };
      }, (err) => failed(w, job, serializeError(err), runtime));
    }
    case 'failure':
      return failed(w, job, outcome.error, runtime);
    case 'timeout':
      w.log('error', `task ${req.task}[${req.id}] hit its hard time limit of ${limitsOf(job).hard} ms and was stopped`);
      return failed(w, job, outcome.error, runtime);
    case 'lost':
      if (acksLate && def.options.rejectOnWorkerLost) {
        w.log('warn', `the runner of ${req.task}[${req.id}] died; requeueing it (rejectOnWorkerLost)`);
        if (settleable(job)) msg.nack({ requeue: true });
        return;
      }
      w.log('error', `the runner of ${req.task}[${req.id}] died: ${outcome.error.message}`);
      return failed(w, job, outcome.error, runtime);
    case 'terminated': {
      w.emit('task-revoked', { uuid: req.id, name: req.task, terminated: true, expired: false });
      const error = outcome.error;
      return end(w, job, () => ({ result: stored(() => failureOf(s, req, 'REVOKED', error)), next: [], ack: acksLate }), giveUp);
    }
  }
}

/**
 * Ends a job revoked before it started: REVOKED stored again, as Celery's worker does
 * (mark_as_revoked), in a finish that acks the delivery. The broker stored REVOKED at the revoke
 * without knowing the task's name; it counts the outcome by name from this finish (/metrics).
 * A job that stores no result is just acked.
 */
export function endRevoked(w: Worker, job: Job): Promise<void> {
  const error = workerError('TaskRevokedError', 'ERR_TASK_REVOKED', 'revoked');
  const result = storesResult(job) ? failureOf(w.app.settings, job.req, 'REVOKED', error) : undefined;
  return end(w, job, () => ({ result, next: [], ack: true }), (err) => unfinished(w, job, err));
}

/** False when the task or its call asked not to store results (ignoreResult). */
function storesResult(job: Job): boolean {
  return !(job.req.ignoreResult || job.def.options.ignoreResult);
}

/**
 * A failure: FAILURE stored, errbacks sent; with late acks and acksOnFailureOrTimeout off, the
 * delivery is rejected after instead of acked. A finish refused for its size is sent again with
 * the error's message and traceback cut short (the errbacks are small: the task id and their own
 * arguments); one refused otherwise (errbacks that cannot be built), without the errbacks. When
 * nothing is left to leave out, unfinished().
 */
function failed(w: Worker, job: Job, error: SerializedError, runtime: number): Promise<void> {
  const { req, def } = job;
  const s = w.app.settings;
  w.emit('task-failed', { uuid: req.id, name: req.task, exception: `${error.name}: ${error.message}`, traceback: error.stack, runtime });
  w.log('warn', `task ${req.task}[${req.id}] failed: ${error.name}: ${error.message}`);
  // Celery's reject(requeue=False): the failure is recorded, then the message goes to the queue's
  // dead-letter exchange (or away) instead of being acked.
  const reject = def.options.acksLate && !s.taskAcksOnFailureOrTimeout;
  const who = `task ${req.task}[${req.id}]`;
  // An exception message or traceback too large for the broker: the FAILURE is stored cut short,
  // rather than nothing (PENDING for good) or, with late acks, the task run again.
  const attempt = (withErrbacks: boolean, cutTo: number | undefined): Promise<void> => end(w, job, () => ({
    result: storesResult(job) ? withRuntime(failureOf(s, req, 'FAILURE', cutTo === undefined ? error : cutShort(error, cutTo)), runtime) : undefined,
    next: withErrbacks ? failurePublishes(s, w.app, req) : [], ack: def.options.acksLate && !reject, reject,
  }), (err) => {
    const limit = tooLargeLimit(err);
    if (limit !== undefined && cutTo === undefined) {
      w.log('error', `${who}: ${messageOf(err)}; storing its FAILURE with the error message and traceback cut short`);
      return attempt(withErrbacks, limit);
    }
    if (withErrbacks) {
      w.log('error', `${who}: ${messageOf(err)}; storing its FAILURE without errbacks`);
      return attempt(false, cutTo);
    }
    return unfinished(w, job, err);
  });
  return attempt(true, undefined);
}

/**
 * The byte limit a refusal for size names: the broker's maxBodySize (a body refused) or the
 * maxMessageSize a frame was held to, the smaller when both are named (a frame the SDK did not send).
 */
function tooLargeLimit(err: unknown): number | undefined {
  if (!(err instanceof CeleriacError) || err.code !== 'ERR_MESSAGE_TOO_LARGE') return undefined;
  const named = [err.details?.['maxBodySize'], err.details?.['maxMessageSize']].filter((v): v is number => typeof v === 'number' && v > 0);
  return named.length === 0 ? undefined : Math.min(...named);
}

/**
 * `e` with its message and stack cut to a sixteenth of `limit` characters each: even at 3 UTF-8
 * bytes a character, doubled by JSON escapes, the two stay within the limit with the record's
 * other fields.
 */
function cutShort(e: SerializedError, limit: number): SerializedError {
  const keep = Math.max(32, Math.floor(limit / 16));
  const cut = (text: string): string => (text.length <= keep ? text : `${text.slice(0, keep)}… [${text.length - keep} characters cut: the record was over the broker's limit of ${limit} bytes]`);
  return { ...e, message: cut(e.message), stack: cut(e.stack) };
}

/**
 * Ends `job` with what `build` returns. When it cannot be built (a value that does not encode, a
 * follow-up that cannot be prepared) or the broker refuses the finish (which then changed nothing),
 * `instead` ends the job another way. When the socket dropped under the finish, recover(). A
 * finish refused because the broker no longer holds the delivery (ERR_UNKNOWN_DELIVERY_TAG: taken
 * back after an ack timeout) changed nothing, and the redelivery owns the task's outcome.
 * A late-acked delivery that another refused finish carried is still held (a refused atomic finish
 * unsettles it), so the replacement acks it.
 */
async function end(w: Worker, job: Job, build: () => Ending, instead: (err: unknown) => Promise<void>): Promise<void> {
  let ending: Ending;
  try {
    ending = build();
  } catch (err) {
    return instead(err);
  }
  let sent: boolean;
  try {
    sent = await send(w, job, ending);
  } catch (err) {
    if (cutOff(err)) return recover(w, job, ending, err);
    if (!job.acked && err instanceof CeleriacError && err.code === 'ERR_UNKNOWN_DELIVERY_TAG') {
      job.deliveryLost = true;
      w.log('warn', `task ${job.req.task}[${job.req.id}]: delivery lost: the broker refused its finish, no longer holding its delivery (taken back, e.g. after an ack timeout); nothing was stored and the broker redelivers it`);
      return;
    }
    return instead(err);
  }
  if (sent) ending.sent?.();
}

/**
 * Sends an ending: a plain ack when there is nothing else, otherwise one finish (queues of the
 * follow-ups declared first). Resolves false when nothing was sent because the delivery was lost
 * meanwhile (see deliveryLost).
 */
async function send(w: Worker, job: Job, e: Ending): Promise<boolean> {
  if (e.result !== undefined || e.next.length > 0) {
    for (const p of e.next) await w.app.declarer.ensure(w.connection, p.queue);
    // The declares above may have outlasted the socket the delivery came on.
    if (deliveryLost(w, job, 'before its finish was sent')) return false;
    const withAck = e.ack && settleable(job);
    const req: FinishRequest = {};
    if (e.next.length > 0) req.publishes = e.next.map((p) => p.publish);
    if (e.result !== undefined) req.result = e.result;
    if (withAck) req.ack = job.msg;
    await w.link.finish(req);
  } else if (e.ack && settleable(job)) {
    job.msg.ack();
  }
  if (e.reject === true && settleable(job)) job.msg.reject({ requeue: false });
  return true;
}

/**
 * True when whether the finish committed is unknown: the socket dropped after it was sent, or no
 * answer came in time. A socket the broker closed because the finish was too large is a refusal.
 */
function cutOff(err: unknown): boolean {
  if (!(err instanceof CeleriacError) || (err.code !== 'ERR_CONNECTION_CLOSED' && err.code !== 'ERR_TIMEOUT')) return false;
  for (let c: unknown = err.cause; c instanceof Error; c = c.cause) {
    if (c instanceof CeleriacError && c.code === 'ERR_FRAME_TOO_LARGE') return false;
  }
  return true;
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
 * The finish of `e` was cut off (cutOff()): it may or may not have committed.
 * - A delivery not acked early is still the broker's: the dropped socket gave it back and it runs
 *   again (after a mere timeout it waits for the finish or for the connection's end). On a pair
 *   without the one-transaction finish it is given back at once when still live.
 * - An early-acked one would be lost, PENDING forever, so its end is made sure of on the reconnected
 *   socket. A finish with a result and nothing to publish is stored again with storeResult, which the
 *   connection re-sends after a reconnect (storing the same record twice is harmless: a group member
 *   counts once). A finish with publishes is sent again (without the ack) only after a dropped socket
 *   and only when the task's stored record shows it did not commit: an atomic finish is one transaction,
 *   so a record equal to ours means its publishes went too (a stepwise finish is sent again). A finish without a result
 *   (ignoreResult) cannot be checked that way, nor one after a timeout (it may still commit): logged.
 */
async function recover(w: Worker, job: Job, e: Ending, err: unknown): Promise<void> {
  const { req } = job;
  const who = `task ${req.task}[${req.id}]`;
  const why = messageOf(err);
  if (!job.acked) {
    // A stepwise finish cut off by the result backend (Redis away) leaves the delivery live on a
    // transport that is up, held unacked until the consumer dies: give it back to run again (its
    // result counts once, its follow-ups go at least once).
    if (!w.link.atomic && settleable(job)) {
      job.msg.nack({ requeue: true });
      w.log('warn', `${who}: its finish was cut off (${why}); requeued to run again`);
      return;
    }
    w.log('warn', `${who}: its finish was cut off (${why}); its delivery was not acked early, so the broker delivers it again unless the finish committed`);
    return;
  }
  const result = e.result;
  const resend = e.next.length > 0;
  if (result === undefined || (resend && (err as CeleriacError).code !== 'ERR_CONNECTION_CLOSED')) {
    w.log('error', `${who} was acked early and its finish was cut off (${why}); its ${e.next.length} follow-up message(s) may be lost`);
    return;
  }
  try {
    const results = w.results;
    if (!resend) {
      await results.storeResult(result.taskId, result.state, result.body, result.options);
    } else {
      const rec = await results.getResult(result.taskId);
      const ours = rec !== null && rec.state === result.state && sameBytes(rec.body, result.body);
      // Our record proves the publishes went only when the finish is one transaction; a stepwise
      // finish stores the result first, so its follow-ups are sent again (at least once, never lost).
      // Another final state (revoked meanwhile) is left alone.
      if ((ours && w.link.atomic) || (!ours && rec !== null && READY_STATES.has(rec.state as TaskState))) {
        w.log('info', `${who}: its finish was cut off (${why}) after it committed; not sent again`);
        return;
      }
      await send(w, job, { result, next: e.next, ack: false });
    }
    w.log('warn', `${who}: its finish was cut off (${why}); ${resend ? 'sent again' : 'its result stored again'} after the reconnect`);
  } catch (again) {
    w.log('error', `${who} was acked early, its finish was cut off (${why}) and its result could not be stored after: ${messageOf(again)}`);
  }
}

/**
 * Nothing could end the job (even a bare FAILURE was refused). A delivery still ours is requeued
 * to run again; an early-acked one can only be logged.
 */
function unfinished(w: Worker, job: Job, err: unknown): Promise<void> {
  const who = `task ${job.req.task}[${job.req.id}]`;
  if (settleable(job)) {
    job.msg.nack({ requeue: true });
    w.log('error', `${who} could not be finished (${messageOf(err)}); requeued`);
  } else {
    w.log('error', `${who} could not be finished and nothing was stored (${messageOf(err)})${job.acked ? '; it was acked before it ran' : ''}`);
  }
  return Promise.resolve();
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
