// The types of the Connection's public surface: publish/get options, bodies and the event map.
// Kept apart so connection.ts holds behaviour only.
import type { CeleriacError } from '../shared/errors.js';
import type { MessageProperties, RevokedInfo, TrackOptions } from '../shared/frames.js';
import type { Message } from './message.js';

/** Options of publish() and sendToQueue(): message properties plus `mandatory`. */
export interface PublishOptions extends MessageProperties {
  /** Fail the publish with ERR_NO_ROUTE when no queue takes the message. */
  mandatory?: boolean;
  /** Register this task id in the broker's result store as PENDING, in the publish's commit. */
  track?: TrackOptions;
}

/** Options of get(). */
export interface GetOptions {
  /** The message counts as acked when fetched. */
  noAck?: boolean;
}

/** What a body may be given as; strings are sent as UTF-8. */
export type Body = Uint8Array | string;

/** Passed with 'reconnecting'. */
export interface ReconnectingInfo {
  /** 1 for the first attempt after a drop. */
  attempt: number;
  /** Milliseconds until this attempt. */
  delay: number;
  /** Why the socket dropped, or why the previous attempt failed. */
  error: CeleriacError;
}

/** The events of a Connection and their arguments. */
export interface ConnectionEvents {
  /**
   * A coded error no request or publish waits for: a connection-scope error the broker sent before
   * closing the socket (ERR_UNKNOWN_DELIVERY_TAG, ERR_HEARTBEAT_TIMEOUT, ...; not the routine
   * ERR_SERVER_SHUTDOWN), or a failed re-declaration after a reconnect. Emitted only when a
   * listener is registered, so it never crashes a process that does not listen: the connection
   * recovers ('reconnecting' carries the same error) or reports it with 'close'.
   */
  error: [err: CeleriacError];
  /** Closed for good: by close() (no error), or a drop with `reconnect: false` (the error). */
  close: [err: CeleriacError | undefined];
  /** The socket dropped (or an attempt failed); another attempt follows after `delay`. */
  reconnecting: [info: ReconnectingInfo];
  /** A new socket is up and everything was declared and subscribed again. */
  reconnected: [];
  /** The broker asked publishers to stop (flow); publish() now queues locally. */
  blocked: [reason: string];
  /** Publishing may go on; locally queued publishes are being sent. */
  unblocked: [];
  /** The broker cancelled a consumer (queue deleted, ack timeout), or re-subscribing it failed. */
  cancel: [consumerTag: string, reason: string];
  /** A server-named queue was declared again after a reconnect and got a new name. */
  queueRenamed: [from: string, to: string];
  /**
   * A consumer handler threw or rejected. The message is left as the handler left it (see
   * consume()). Without a listener the error becomes a process warning.
   */
  handlerError: [err: unknown, msg: Message];
  /**
   * Task ids were revoked while this connection holds unacked deliveries of them (a worker skips
   * them); with `terminate`, told to every connection of the vhost, and the worker running one
   * stops it (with `signal` when given).
   */
  revoked: [info: RevokedInfo];
}
