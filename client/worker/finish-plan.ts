// What a worker sends when a task ends: the result meta to store and the messages that follow
// (chain step, callbacks, errbacks, the retry itself) — composed here, committed by one finish.
import { hostname } from 'node:os';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { FinishResult } from '../../shared/frames.js';
import type { TaskState } from '../../shared/task-states.js';
import type { Settings } from '../app/settings.js';
import { callOptionsOf } from '../canvas/signature.js';
import { encodeError, encodeFailure, findUnencodable } from '../../shared/messages/encodable.js';
import { PROTOCOL_HEADERS } from '../../shared/messages/task-message.js';
import type { Signature as WireSignature, TaskRequest } from '../../shared/messages/types.js';
import { encodeMeta, exceptionInfo, type ResultMeta } from '../results/result-meta.js';
import type { TaskDefinition, TaskRegistry } from '../tasks/definition.js';
import { prepareTask, type PreparedTask } from '../tasks/producer.js';
import type { SerializedError } from './pool-types.js';

/** How errors name a task's result (built only when one is thrown). */
function resultSubject(req: TaskRequest): string {
  return `the result of task ${req.task}[${req.id}]`;
}

/**
 * The result record of a state, serialized with the app's result settings. A result the result
 * serializer cannot carry throws ERR_ENCODE naming the task and the value's path (`result.items[2].x
 * is NaN`); the worker then stores FAILURE with that error instead (execute.ts).
 */
export function resultOf(settings: Readonly<Settings>, req: TaskRequest, state: TaskState, result: unknown, traceback: string | null): FinishResult {
  const serializer = settings.resultSerializer;
  // The result sits at depth 2 of the stored document, inside the meta map.
  // The walk also says whether the result needs the JSON replacer; the rest of the meta never does.
  const report = { markers: true };
  const found = findUnencodable(result, serializer, { root: 'result', depth: 2, report });
  if (found !== undefined) throw encodeError(resultSubject(req), serializer, found, { task: req.task, taskId: req.id });
  const meta: ResultMeta = {
    task_id: req.id, status: state, result, traceback, children: [],
    date_done: state === 'SUCCESS' || state === 'FAILURE' || state === 'REVOKED' ? new Date().toISOString() : null,
    name: req.task, retries: req.retries,
  };
  let encoded: { body: Uint8Array; contentType: string };
  try {
    encoded = encodeMeta(meta, { serializer, compression: settings.resultCompression }, !report.markers);
  } catch (err) {
    throw encodeFailure(resultSubject(req), serializer, err, { task: req.task, taskId: req.id });
  }
  const { body, contentType } = encoded;
  const options: FinishResult['options'] = { contentType };
  if (settings.resultExpires !== null) options.expires = settings.resultExpires;
  // `task` is not stored: the broker counts the outcome under the task's name (/metrics).
  return { taskId: req.id, state, body, options, task: req.task };
}

/** A failure's result record: Celery's exception info and the remote stack as traceback. */
export function failureOf(settings: Readonly<Settings>, req: TaskRequest, state: 'FAILURE' | 'RETRY' | 'REVOKED', e: SerializedError): FinishResult {
  return resultOf(settings, req, state, exceptionInfo(e), state === 'REVOKED' ? null : e.stack);
}

/** `rec` with the seconds the run took, for the broker's run-time histogram (/metrics). */
export function withRuntime(rec: FinishResult, runtime: number): FinishResult {
  rec.runtime = runtime;
  return rec;
}

/** A task-layer error as plain data (no stack worth showing: it did not happen in the task). */
export function workerError(name: string, code: string, message: string): SerializedError {
  return { name, code, message, stack: `${name}: ${message}\n    at worker ${hostname()}` };
}

/**
 * Sends a wire signature as a follow-up of `req` (same workflow root, `req` as parent). A message
 * that cannot be built (ERR_ENCODE for arguments its serializer cannot carry, ERR_INVALID_ARGUMENT
 * for bad options) throws the same code, its message prefixed with `context()` (built only then).
 */
function followUp(settings: Readonly<Settings>, registry: TaskRegistry, sig: WireSignature, args: unknown[], req: TaskRequest, context: () => string, extra: { chain?: WireSignature[]; chord?: WireSignature | null } = {}): PreparedTask {
  // A Celery canvas object (a group, chord or chain signature in a Python-built workflow) is not a
  // task message to send: Celery's worker applies it in-process, which celeriac does not. Sent as
  // is it would become a call of Celery's built-in 'celery.group' with the wrong arguments.
  if (sig.subtask_type !== null) {
    const kind = sig.subtask_type;
    return withContext(context, () => {
      throw fail('ERR_INVALID_ARGUMENT', `'${sig.task}' is a Celery ${kind} signature (subtask_type '${kind}'); a celeriac worker sends on only plain task signatures (subtask_type null)`);
    });
  }
  const local: TaskDefinition | undefined = registry.getTask(sig.task);
  const call = { ...callOptionsOf(sig), rootId: req.rootId, parentId: req.id, ...extra };
  return withContext(context, () => prepareTask(settings, sig.task, sig.immutable ? sig.args : [...args, ...sig.args], sig.kwargs, call, local?.options ?? {}));
}

/**
 * After a success: the chain's next step (it carries the rest of the chain) and every callback, each
 * given the result. Throws when one cannot be built: the task then ends FAILURE with that error, as
 * Celery's trace does when sending a callback raises EncodeError.
 */
export function successPublishes(settings: Readonly<Settings>, registry: TaskRegistry, req: TaskRequest, value: unknown): PreparedTask[] {
  // Most tasks are neither in a chain nor have callbacks: nothing to build (this runs per task).
  if (req.embed.chain.length === 0 && req.embed.callbacks.length === 0) return [];
  const out: PreparedTask[] = [];
  const done = (): string => `task ${req.task}[${req.id}] succeeded, but`;
  const [next, ...rest] = req.embed.chain;
  if (next !== undefined) out.push(followUp(settings, registry, next, [value], req, () => `${done()} the next step of its chain (${next.task}) could not be sent`, { chain: rest, chord: req.embed.chord }));
  for (const cb of req.embed.callbacks) out.push(followUp(settings, registry, cb, [value], req, () => `${done()} its callback ${cb.task} could not be sent`));
  return out;
}

/** After a failure: every errback, called with the failed task's id (Celery's old-style errback). Throws when one cannot be built. */
export function failurePublishes(settings: Readonly<Settings>, registry: TaskRegistry, req: TaskRequest): PreparedTask[] {
  return req.embed.errbacks.map((eb) => followUp(settings, registry, eb, [req.id], req, () => `task ${req.task}[${req.id}] failed, and its errback ${eb.task} could not be sent`));
}

/** Runs `build`; a coded error it throws is thrown again with `context()` before its message (same code, details and cause chain). */
function withContext<T>(context: () => string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof CeleriacError)) throw err;
    throw new CeleriacError(err.code, `${context()}: ${err.message}`, err.details === undefined ? { cause: err } : { cause: err, details: { ...err.details } });
  }
}

/** The same task again, `retries + 1`, after `countdown` ms, to the exchange and key it came by. Throws when it cannot be built. */
export function retryPublish(settings: Readonly<Settings>, def: TaskDefinition, req: TaskRequest, queue: string, delivery: { exchange: string; routingKey: string }, countdown: number): PreparedTask {
  const call: Parameters<typeof prepareTask>[4] = {
    taskId: req.id, retries: req.retries + 1, countdown, queue, exchange: delivery.exchange, routingKey: delivery.routingKey,
    rootId: req.rootId, chain: req.embed.chain, chord: req.embed.chord, link: req.embed.callbacks, linkError: req.embed.errbacks,
    timeLimit: req.timeLimit.hard ?? null, softTimeLimit: req.timeLimit.soft ?? null, headers: userHeaders(req.headers),
  };
  if (req.parentId !== null) call.parentId = req.parentId;
  if (req.group !== null) call.groupId = req.group;
  if (req.groupIndex !== null) call.groupIndex = req.groupIndex;
  if (req.expires !== null) call.expires = req.expires;
  if (req.priority !== null) call.priority = req.priority;
  if (req.shadow !== null) call.shadow = req.shadow;
  // The arguments came decoded from a message, but perhaps of another serializer (a msgpack NaN resent as JSON).
  return withContext(() => `the retry of task ${req.task}[${req.id}] could not be sent`, () => prepareTask(settings, req.task, req.args, req.kwargs, call, def.options));
}

/** The user headers of a request (protocol headers left out: the new message writes its own). */
function userHeaders(headers: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) if (!PROTOCOL_HEADERS.has(k)) out[k] = v;
  return out;
}
