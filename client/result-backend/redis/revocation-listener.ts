// Revocations pushed to this process. Each revoke appends an entry to the revocation log (a
// stream) and publishes on the revocation channel; a listener reads the log past the last entry it
// saw whenever the channel speaks and after the pub/sub connection comes back, so a revoke made
// while it was down is still heard (as long as the log, trimmed to the last ~10,000, holds it).
// Every revocation reaches every listener: the contract asks for at least the ones of tasks this
// process holds, and a worker ignores ids it does not run.
import type { RevokedInfo } from '../../../shared/frames.js';
import type { Calls } from './calls.js';
import { REVOKED_CHANNEL, REVOKED_LOG_KEY } from './keys.js';
import type { Subscriber } from './subscriber.js';

/** One stream entry as XRANGE returns it: [id, [field, value, ...]]. */
type Entry = [string, string[]];

function infoOf(fields: string[]): RevokedInfo | undefined {
  const get = (name: string): string | undefined => {
    const i = fields.indexOf(name);
    return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
  };
  let ids: unknown;
  try {
    ids = JSON.parse(get('ids') ?? 'null');
  } catch {
    return undefined;
  }
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) return undefined;
  const info: RevokedInfo = { taskIds: ids as string[], terminate: get('terminate') === '1' };
  const signal = get('signal');
  if (signal !== undefined && signal !== '') info.signal = signal;
  return info;
}

export class RevocationListener {
  readonly #listeners = new Set<(info: RevokedInfo) => void>();
  /** The last log entry handed out; reads start after it. */
  #lastId = '0-0';
  #started: Promise<void> | undefined;
  #stop: (() => void) | undefined;
  #reading = false;
  #again = false;

  constructor(
    private readonly calls: Calls,
    private readonly subscriber: Subscriber,
    /** Told when the listener cannot start or read (Redis away); it tries again on the next push or reconnect. */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Adds `listener`; the first one starts listening. Returns its remover. */
  add(listener: (info: RevokedInfo) => void): () => void {
    this.#listeners.add(listener);
    this.#started ??= this.#start();
    return () => { this.#listeners.delete(listener); };
  }

  close(): void {
    this.#listeners.clear();
    this.#stop?.();
  }

  /**
   * The log's last entry first, then the subscription, then a read past that entry: a revoke made
   * between the first step and the subscription is read by that catch-up, none is lost.
   */
  async #start(): Promise<void> {
    try {
      const tail = await this.calls.run('read the revocation log', (c) => c.xrevrange(REVOKED_LOG_KEY, '+', '-', 'COUNT', 1));
      const first = tail[0];
      if (first !== undefined) this.#lastId = first[0];
    } catch (err) {
      this.onError(err); // read from the start of the log instead: old entries are revocations too
    }
    try {
      this.#stop = await this.subscriber.subscribe(REVOKED_CHANNEL, () => { void this.#read(); });
      this.subscriber.onResubscribed(() => { void this.#read(); });
    } catch (err) {
      this.#started = undefined; // the next add() tries again
      this.onError(err);
      return;
    }
    await this.#read();
  }

  /** Reads the log past the last entry seen and tells the listeners; one read at a time. */
  async #read(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        const from = `(${this.#lastId}`;
        const entries = await this.calls.run('read the revocation log', (c) => c.xrange(REVOKED_LOG_KEY, from, '+')) as Entry[];
        for (const [id, fields] of entries) {
          this.#lastId = id;
          const info = infoOf(fields);
          if (info !== undefined) for (const l of [...this.#listeners]) l(info);
        }
      } while (this.#again);
    } catch (err) {
      this.onError(err);
    } finally {
      this.#reading = false;
    }
  }
}
