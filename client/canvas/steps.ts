// What chain, group and chord share: task ids assigned before anything is sent (so results are
// known up front, as Celery's freeze does), which steps store a result, and PENDING registration.
import { prepareTask, type PreparedTask } from '../tasks/producer.js';
import { newTaskId } from '../../shared/messages/task-id.js';
import { chordHeaders } from '../worker/chord-args.js';
import type { ResultBackend } from '../result-backend/result-backend.js';
import { AsyncResult } from '../results/async-result.js';
import { ChainResult } from '../results/chain-result.js';
import type { CallOptions, SignatureLike } from '../tasks/types.js';
import type { CanvasApp } from './canvas-app.js';
import type { Signature } from './signature.js';

/** A copy of `sig` with a task id: its own when it has one, else a new UUID. */
export function frozen<R>(sig: Signature<R>): Signature<R> {
  return sig.options.taskId !== undefined ? sig : sig.set({ taskId: newTaskId() });
}

/** The task id of a frozen signature. */
export function idOf(sig: Signature): string {
  return sig.options.taskId as string;
}

/** Whether a call of `sig` stores a result (call option, then the task's option, then the setting). */
export function storesResult(app: CanvasApp, sig: Signature): boolean {
  return !(sig.options.ignoreResult ?? app.getTask(sig.task)?.options.ignoreResult ?? app.settings.taskIgnoreResult);
}

/** One list of signatures from an option that holds one, several or none. */
export function signatureList(v: SignatureLike | readonly SignatureLike[] | undefined): SignatureLike[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? [...(v as readonly SignatureLike[])] : [v as SignatureLike];
}

/** How long the broker keeps a group: as long as results are kept. */
export function groupExpiry(app: CanvasApp): { expires?: number } {
  const keep = app.settings.resultExpires;
  return keep === null ? {} : { expires: keep };
}

/**
 * Registers ids that a worker will send later (a chain's later steps) as PENDING now, so their
 * AsyncResults wait instead of answering "unknown id". Done before the first message is sent, so
 * it can never overwrite a result. They expire as results do.
 */
export async function registerPending(app: CanvasApp, results: ResultBackend, ids: readonly string[]): Promise<void> {
  const options = groupExpiry(app);
  await Promise.all(ids.map((id) => results.storeResult(id, 'PENDING', undefined, options)));
}

/** The message of `sig` sent with `call`, under the app's settings and the task's registered options. */
export function prepareStep(app: CanvasApp, sig: Signature, call: CallOptions): PreparedTask {
  return prepareTask(app.settings, sig.task, sig.args, sig.kwargs, call, app.getTask(sig.task)?.options ?? {});
}

/** `sig`'s headers plus the chord header naming group `groupId`: it makes `sig` a chord callback. */
export function withChordHeaders(sig: Signature, groupId: string): Record<string, unknown> {
  return { ...sig.options.headers, ...chordHeaders(groupId, sig.immutable) };
}

/** What a value passed as a canvas step is, for an error message: its class name, else its type. */
export function kindOf(v: unknown): string {
  return String(v !== null && typeof v === 'object' ? (v as { constructor?: { name?: string } }).constructor?.name : typeof v);
}

/** The result of frozen chain steps (execution order): the last step's, with the earlier ones that store a result as parents. */
export function chainResultOf<R>(app: CanvasApp, steps: readonly Signature[]): ChainResult<R> {
  const parents = steps.slice(0, -1).filter((s) => storesResult(app, s)).map((s) => new AsyncResult(idOf(s), app));
  return new ChainResult<R>(idOf(steps[steps.length - 1]!), app, parents);
}

/** Call options a caller may not set on a whole group or chord: ids are assigned per member. */
export function memberOptions(options: CallOptions): CallOptions {
  const { taskId: _id, groupId: _g, groupIndex: _i, chain: _c, chord: _ch, ...rest } = options;
  return rest;
}
