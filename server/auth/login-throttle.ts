// Failed logins per peer address, and what they cost that address's next attempts: a delay that
// doubles with each failure, and a refusal unchecked while too many of its attempts are in progress.
// Never a lockout: a correct password from a throttled address still logs in, only later.

/** How the throttle behaves; {@link DEFAULT_THROTTLE} is what brokers use. */
export interface ThrottleSettings {
  /** Failures an address may have before its attempts are delayed (typos happen). */
  readonly freeFailures: number;
  /** Delay after the first failure beyond the free ones; doubles with each further failure. */
  readonly baseDelayMs: number;
  /** Longest delay: kept well under the default handshake timeout (10 s) so a good login fits in it. */
  readonly maxDelayMs: number;
  /** A throttled address may have this many attempts waiting or hashing; more are refused unchecked (after the same delay). */
  readonly maxPendingPerAddress: number;
  /** An address's failures are forgotten this long after its last one. */
  readonly forgetAfterMs: number;
  /** Addresses remembered at most; the least recently failed is forgotten first. */
  readonly maxAddresses: number;
}

export const DEFAULT_THROTTLE: Readonly<ThrottleSettings> = Object.freeze({
  freeFailures: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxPendingPerAddress: 8,
  forgetAfterMs: 60_000,
  maxAddresses: 10_000,
});

interface AddressRecord {
  failures: number;
  lastFailureAt: number;
  pending: number;
}

/** What an attempt from an address must do before its password is checked. */
export type Admission =
  | { readonly kind: 'check'; readonly delayMs: number; readonly suspect: boolean }
  | { readonly kind: 'refuse'; readonly pending: number; readonly delayMs: number };

/** Counts for /metrics. */
export interface ThrottleCounts {
  failures: number;
  delayed: number;
  refused: number;
}

/** The delay for an address with `failures` recent failures; pure, so the curve is unit-tested. */
export function delayAfter(failures: number, s: Readonly<ThrottleSettings> = DEFAULT_THROTTLE): number {
  if (failures < s.freeFailures) return 0;
  const doublings = Math.min(failures - s.freeFailures, 30);
  return Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** doublings);
}

/**
 * Per-address failure memory. The caller brackets each attempt with begin() and end(): begin says
 * whether to check it (after a delay) or refuse it; end records the outcome and frees its place.
 * The clock is a parameter so tests drive time instead of sleeping.
 */
export class LoginThrottle {
  private readonly records = new Map<string, AddressRecord>();
  readonly counts: ThrottleCounts = { failures: 0, delayed: 0, refused: 0 };

  constructor(private readonly settings: Readonly<ThrottleSettings> = DEFAULT_THROTTLE, private readonly now: () => number = Date.now) {}

  /** Recent failures of an address (0 once forgotten). */
  failures(address: string): number {
    return this.live(address)?.failures ?? 0;
  }

  /** Admits or refuses one attempt; an admitted one must be followed by end(). */
  begin(address: string): Admission {
    let rec = this.live(address);
    if (rec === undefined) {
      rec = { failures: 0, lastFailureAt: 0, pending: 0 };
      this.records.set(address, rec);
    }
    const delayMs = delayAfter(rec.failures, this.settings);
    if (delayMs === 0) {
      rec.pending++;
      return { kind: 'check', delayMs: 0, suspect: false };
    }
    if (rec.pending >= this.settings.maxPendingPerAddress) {
      this.counts.refused++;
      return { kind: 'refuse', pending: rec.pending, delayMs };
    }
    rec.pending++;
    this.counts.delayed++;
    return { kind: 'check', delayMs, suspect: true };
  }

  /**
   * Ends an admitted attempt: `true` = correct password (the address's failures are cleared),
   * `false` = wrong one (counted), `null` = abandoned before an answer (the peer left).
   */
  end(address: string, ok: boolean | null): void {
    let rec = this.records.get(address);
    if (rec !== undefined && rec.pending > 0) rec.pending--;
    if (ok === null) return this.dropIfIdle(address, rec);
    if (ok) {
      if (rec !== undefined) rec.failures = 0;
      return this.dropIfIdle(address, rec);
    }
    this.counts.failures++;
    if (rec === undefined) rec = { failures: 0, lastFailureAt: 0, pending: 0 };
    else if (this.expired(rec)) rec.failures = 0;
    rec.failures++;
    rec.lastFailureAt = this.now();
    // Re-insert so the map's order is least recently failed first, then trim from the front.
    this.records.delete(address);
    this.records.set(address, rec);
    for (const [oldest, r] of this.records) {
      if (this.records.size <= this.settings.maxAddresses) break;
      if (r.pending === 0) this.records.delete(oldest);
      else break;
    }
  }

  /** A correct password from the address that needed no check (a remembered one): its failures are forgotten, as with end(true). */
  clear(address: string): void {
    const rec = this.records.get(address);
    if (rec === undefined) return;
    rec.failures = 0;
    this.dropIfIdle(address, rec);
  }

  private expired(rec: AddressRecord): boolean {
    return this.now() - rec.lastFailureAt > this.settings.forgetAfterMs;
  }

  /** The address's record, with failures forgotten when they are old. */
  private live(address: string): AddressRecord | undefined {
    const rec = this.records.get(address);
    if (rec === undefined) return undefined;
    if (rec.failures > 0 && this.expired(rec)) rec.failures = 0;
    if (rec.failures === 0 && rec.pending === 0) {
      this.records.delete(address);
      return undefined;
    }
    return rec;
  }

  private dropIfIdle(address: string, rec: AddressRecord | undefined): void {
    if (rec !== undefined && rec.failures === 0 && rec.pending === 0) this.records.delete(address);
  }
}
