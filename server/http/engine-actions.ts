// How an HTTP action reaches the engine: through the same operations a WebSocket client uses, on a
// short-lived engine connection of its own, and answered only once its writes are committed.
import type { CeleriacError } from '../../shared/errors.js';
import type { DeliverySink, EngineApi, EngineConnection } from '../engine/types.js';
import type { HttpPrincipal } from './auth.js';

/** An HTTP action never consumes, so nothing is delivered to it; flow notices have nobody to tell. */
const NO_SINK: DeliverySink = {
  writable: () => true,
  deliver: () => undefined,
  consumerCancelled: () => undefined,
  flow: () => undefined,
};

/** Runs actions for the HTTP API, one engine connection each. */
export class EngineActions {
  private seq = 0;

  constructor(private readonly engine: EngineApi) {}

  /**
   * Runs `fn` on an engine connection of `who` in `vhost`, closed as soon as `fn` returns (a get's
   * unsettled deliveries go back to their queue then), so it never shows in listings.
   */
  run<T>(who: HttpPrincipal, vhost: string, peer: string | undefined, fn: (conn: EngineConnection) => T): T {
    const conn = this.engine.openConnection({ id: `http.${++this.seq}`, vhost, user: who.user, client: 'celeriac-http', peer: peer ?? 'unknown' }, NO_SINK);
    try {
      return fn(conn);
    } finally {
      this.engine.closeConnection(conn);
    }
  }

  /** Resolves once everything written so far is committed and durable; rejects with ERR_STORE_FAILED. */
  committed(): Promise<void> {
    return new Promise((resolve, reject) => this.engine.afterCommit((err: CeleriacError | null) => (err === null ? resolve() : reject(err))));
  }
}
