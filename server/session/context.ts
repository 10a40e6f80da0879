// The narrow view of a live connection that opcode handlers get: the engine, this connection's
// handle and the ways to answer. Handlers never touch the socket, the codec or the outbox.
import type { CeleriacError } from '../../shared/errors.js';
import type { Limits } from '../../shared/limits.js';
import type { EngineApi, EngineConnection } from '../engine/types.js';

/** What a handler may use to serve one frame. */
export interface HandlerContext {
  readonly engine: EngineApi;
  readonly conn: EngineConnection;
  readonly limits: Readonly<Limits>;
  /** Answers request `id` with an ok frame. */
  reply(id: number, result?: unknown): void;
  /**
   * Answers a read of stored results (a record or null, or a group with its members' records);
   * fails that request alone when a client could not decode the reply (reply-size.ts). Only for
   * reads: a queue get has already taken its message when it answers.
   */
  replyResults(id: number, result: unknown): void;
  /** Adds `id` to this turn's confirm frame. */
  confirm(id: number): void;
  /** An asynchronous failure of request `id` (e.g. a publish whose commit failed). */
  requestFailed(id: number, err: CeleriacError): void;
  /**
   * Counts a request answered later (after its commit) against the connection's
   * maxRequestsInProgress, until the returned function (`answer`, wrapped) is first called.
   */
  inProgress<A extends unknown[]>(answer: (...args: A) => void): (...args: A) => void;
  /**
   * Counts a resultWait against maxResultWaits until the returned function is first called;
   * throws ERR_TOO_MANY_REQUESTS when the connection already has that many waiting.
   */
  resultWaiting<A extends unknown[]>(answer: (...args: A) => void): (...args: A) => void;
  /**
   * The same for a wait a publish registers (not one of the frame's counts: the publish stands
   * without it): null, nothing counted, when the connection has maxResultWaits waiting or is closing.
   */
  resultWaitingIfRoom<A extends unknown[]>(answer: (...args: A) => void): ((...args: A) => void) | null;
  /** Marks the connection as a publisher (flow control pauses only publishers). */
  markPublisher(): void;
  /** The peer asked to close: reply, then close the socket normally. */
  closeByPeer(id: number): void;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
}
