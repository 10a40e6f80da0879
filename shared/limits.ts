// Default limits both sides agree on; the server announces its own in welcome.
// Sizes are bytes, durations milliseconds.

/** Limits the broker enforces on every connection, with their defaults. */
export interface Limits {
  /** Largest WebSocket message accepted after hello (a batch of frames counts whole). */
  maxMessageSize: number;
  /** Largest message accepted before the hello is answered: an unauthenticated peer gets little. */
  maxPreAuthSize: number;
  /** Time a new connection has to send hello. */
  handshakeTimeout: number;
  /** Heartbeat interval the server proposes; a peer silent for two intervals is dead. */
  heartbeat: number;
  /** Largest message body. */
  maxBodySize: number;
  /** Decoder limit: deepest nesting of arrays/maps in a frame. */
  maxDepth: number;
  /** Decoder limit: longest string, binary, array or map in a frame. */
  maxCollectionLength: number;
  /** Most frames in one WebSocket message a client sends (a batch); more ends the connection. */
  maxFramesPerMessage: number;
  /**
   * Most requests of one connection the broker works on at once (publishes, result stores,
   * finishes, revokes, group declares waiting for their commit); at this many it stops reading
   * the connection until half of them are answered.
   */
  maxRequestsInProgress: number;
  /** Most resultWait requests one connection may have waiting; one more is ERR_TOO_MANY_REQUESTS. */
  maxResultWaits: number;
}

/**
 * Largest WebSocket message the SDK takes from the broker (its socket's maxPayload). The broker
 * never answers a read with more (reply-size.ts): a larger one would drop the client's connection,
 * and the request would be sent again after every reconnect.
 */
export const CLIENT_MAX_RECEIVE = 100 * 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageSize: 64 * 1024 * 1024,
  maxPreAuthSize: 64 * 1024,
  handshakeTimeout: 10_000,
  heartbeat: 30_000,
  maxBodySize: 16 * 1024 * 1024,
  maxDepth: 32,
  maxCollectionLength: 1_000_000,
  maxFramesPerMessage: 10_000,
  maxRequestsInProgress: 10_000,
  maxResultWaits: 10_000,
});
