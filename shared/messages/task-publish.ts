// What a built task message is published with: its broker properties and the PENDING track that
// registers its id in the result store in the publish's commit. Shared by celeriac's producer and
// the broker's POST /api/tasks/send, so a task sent either way is the same message.
import type { MessageProperties, TrackOptions } from '../frames.js';
import type { TaskMessage } from './types.js';

/** How long a result (and so a PENDING record) is kept when nothing says otherwise: one day, celeriac's `resultExpires` default. */
export const DEFAULT_RESULT_EXPIRES = 86_400_000;

/**
 * The properties a task message is published with: its headers, content type and encoding,
 * correlation id (= the task id), persistence, and priority, delay (an eta in the future: the
 * broker holds it) and reply-to when the message has them.
 */
export function taskPublishProperties(msg: TaskMessage): MessageProperties {
  const props: MessageProperties = {
    headers: msg.headers as Record<string, unknown>,
    contentType: msg.properties.contentType,
    contentEncoding: msg.properties.contentEncoding,
    correlationId: msg.properties.correlationId,
    persistent: msg.properties.persistent,
  };
  if (msg.properties.priority !== undefined) props.priority = msg.properties.priority;
  if (msg.properties.delay !== undefined) props.delay = msg.properties.delay;
  if (msg.properties.replyTo !== undefined) props.replyTo = msg.properties.replyTo;
  return props;
}

/**
 * The PENDING track of task `taskId`: its record is kept at least until the task may run (the
 * message's `delay`), then for `resultExpires` ms (null: for ever).
 */
export function pendingTrack(taskId: string, resultExpires: number | null, delay: number | undefined): TrackOptions {
  return resultExpires === null ? { taskId } : { taskId, expires: resultExpires + (delay ?? 0) };
}
