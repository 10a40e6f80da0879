// Turns a call (task name, args, call options, the task's own options) into a task message ready
// to publish: id, route, Celery protocol v2 message, tracking. Publishing is one publish() away;
// the worker puts the same thing into a finish (chain steps, callbacks, retries).
import { newTaskId } from '../../shared/messages/task-id.js';
import { fail } from '../../shared/errors.js';
import type { FinishPublish, MessageProperties } from '../../shared/frames.js';
import { routeFor } from '../app/routing.js';
import type { Settings } from '../app/settings.js';
import { buildTaskMessage } from '../../shared/messages/task-message.js';
import { pendingTrack, taskPublishProperties } from '../../shared/messages/task-publish.js';
import type { BuildTaskMessageInput, Signature as WireSignature } from '../../shared/messages/types.js';
import type { CallOptions, SignatureLike, TaskOptions } from './types.js';

/** A task message ready to publish, and where it goes. */
export interface PreparedTask {
  id: string;
  queue: string;
  publish: FinishPublish;
  /** False when no result will be stored (ignoreResult). */
  tracked: boolean;
}

/** Signatures (objects or already wire-shaped) as they travel in a message. */
export function wireSignatures(v: SignatureLike | readonly SignatureLike[] | undefined): WireSignature[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? (v as readonly SignatureLike[]) : [v as SignatureLike]).map((s) => ('toWire' in s ? s.toWire() : s));
}

/**
 * Builds the message for one call. Call options win over the task's options, which win over the
 * settings (Celery's precedence). Expiry and eta become the broker's delay and the track's expiry.
 */
export function prepareTask(
  settings: Readonly<Settings>,
  name: string,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
  call: CallOptions = {},
  task: Readonly<TaskOptions> = {},
): PreparedTask {
  if (typeof name !== 'string' || name === '') throw fail('ERR_INVALID_ARGUMENT', 'a task name must be a non-empty string');
  if (!Array.isArray(args)) throw fail('ERR_INVALID_ARGUMENT', `args of ${name} must be an array`);
  const id = call.taskId ?? newTaskId();
  // A call naming a queue drops the task's own exchange and key (they were meant for the task's queue).
  const route = routeFor(settings, name, {
    queue: call.queue ?? task.queue,
    routingKey: call.routingKey ?? (call.queue === undefined ? task.routingKey : undefined),
    exchange: call.exchange ?? (call.queue === undefined ? task.exchange : undefined),
    priority: call.priority ?? task.priority ?? settings.taskDefaultPriority ?? undefined,
  });

  const ignoreResult = call.ignoreResult ?? task.ignoreResult ?? settings.taskIgnoreResult;
  const now = Date.now();
  // buildTaskMessage() reads an absent field and an undefined one alike.
  const input: BuildTaskMessageInput = {
    id, task: name, args, kwargs, now,
    serializer: call.serializer ?? task.serializer ?? settings.taskSerializer,
    compression: call.compression !== undefined ? call.compression : settings.messageCompression,
    retries: call.retries ?? 0,
    timeLimit: call.timeLimit !== undefined ? call.timeLimit : (task.timeLimit ?? null),
    softTimeLimit: call.softTimeLimit !== undefined ? call.softTimeLimit : (task.softTimeLimit ?? null),
    ignoreResult,
    callbacks: wireSignatures(call.link),
    errbacks: wireSignatures(call.linkError),
    chain: call.chain ?? [],
    chord: call.chord ?? null,
    countdown: call.countdown, eta: call.eta, expires: call.expires ?? task.expires,
    rootId: call.rootId, parentId: call.parentId, group: call.groupId, groupIndex: call.groupIndex,
    shadow: call.shadow, headers: call.headers, priority: route.priority,
  };
  const msg = buildTaskMessage(input);

  const props: MessageProperties = taskPublishProperties(msg);
  const publish: FinishPublish = { exchange: route.exchange, routingKey: route.routingKey, body: msg.body, props };
  if (!ignoreResult) publish.track = pendingTrack(id, settings.resultExpires, msg.properties.delay);
  return { id, queue: route.queue, publish, tracked: !ignoreResult };
}
