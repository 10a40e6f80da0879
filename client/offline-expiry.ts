// While a connection is down, fails the publishes it has held longer than offlinePublishTimeout,
// so a publish to an unreachable broker settles within a bound instead of waiting for ever.
import { CeleriacError } from '../shared/errors.js';
import { monotonicMs } from './clock.js';
import type { Confirms } from './confirms.js';

/** The offline clock of one connection's held publishes (confirms.ts stamps when each was held). */
export class OfflineExpiry {
  private timer: NodeJS.Timeout | undefined;
  private lastError: CeleriacError | undefined;

  /** `limitMs` null: no limit, nothing is ever timed. */
  constructor(private readonly confirms: Confirms, private readonly limitMs: number | null) {}

  /** The connection is down: its socket dropped or a reconnect attempt failed, with `err`. */
  down(err: CeleriacError): void {
    this.lastError = err;
    const limit = this.limitMs;
    if (limit === null || this.timer !== undefined) return;
    // A few checks per limit: a held publish fails at most a quarter of the limit late.
    const tick = Math.max(10, Math.min(1_000, Math.floor(limit / 4)));
    this.timer = setInterval(() => this.expire(limit), tick);
    // The reconnect timer keeps the process alive while it matters; this one need not.
    this.timer.unref();
  }

  /** The connection is up again, or closed for good (close fails what is left). */
  up(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private expire(limit: number): void {
    const last = this.lastError;
    this.confirms.expireHeld(monotonicMs(), limit, (frame, heldMs) => new CeleriacError(
      'ERR_PUBLISH_FAILED',
      `publish to exchange '${frame.exchange}' (routing key '${frame.routingKey}') abandoned: the connection was down for ${heldMs} ms (offlinePublishTimeout ${limit} ms)${last === undefined ? '' : `; last error: ${last.message}`}`,
      { details: { exchange: frame.exchange, routingKey: frame.routingKey, heldMs }, ...(last === undefined ? {} : { cause: last }) },
    ));
  }
}
