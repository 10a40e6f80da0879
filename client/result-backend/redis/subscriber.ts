// The backend's pub/sub connection: channels subscribed on demand and shared by every handler of
// a channel, subscribed again after a reconnect, and the hooks that then look at what changed
// while it was down (a PUBLISH made then reached nobody). Opened on the first subscribe: a
// producer that never waits for a result holds no second connection.
import type { Redis } from 'ioredis';
import { redisError } from './errors.js';

/** A channel's handlers and its SUBSCRIBE, confirmed or on its way. */
interface Channel {
  handlers: Set<(message: Buffer) => void>;
  subscribed: Promise<void>;
}

export class Subscriber {
  readonly #open: () => Redis;
  #client: Redis | undefined;
  readonly #channels = new Map<string, Channel>();
  readonly #onResubscribed = new Set<() => void>();
  #connectedOnce = false;
  #closed = false;

  /** `open` makes the connection (not connected yet: lazyConnect, no autoResubscribe). */
  constructor(open: () => Redis) {
    this.#open = open;
  }

  /**
   * Calls `handler` with each message of `channel`; resolves once Redis confirmed the subscription,
   * so a PUBLISH from then on reaches it. Resolves with the function that stops it.
   */
  async subscribe(channel: string, handler: (message: Buffer) => void): Promise<() => void> {
    let ch = this.#channels.get(channel);
    if (ch === undefined) {
      const client = this.#connection();
      const subscribed = client.subscribe(channel).then(() => undefined, (err: unknown) => {
        if (this.#channels.get(channel) === ch) this.#channels.delete(channel);
        throw redisError(err, `subscribe to ${channel}`);
      });
      ch = { handlers: new Set(), subscribed };
      this.#channels.set(channel, ch);
    }
    const entry = ch;
    entry.handlers.add(handler);
    try {
      await entry.subscribed;
    } catch (err) {
      entry.handlers.delete(handler);
      throw err;
    }
    return () => {
      if (!entry.handlers.delete(handler) || entry.handlers.size > 0 || this.#channels.get(channel) !== entry) return;
      this.#channels.delete(channel);
      if (!this.#closed) this.#client?.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** Calls `hook` each time the channels are subscribed again after a reconnect. Returns its remover. */
  onResubscribed(hook: () => void): () => void {
    this.#onResubscribed.add(hook);
    return () => { this.#onResubscribed.delete(hook); };
  }

  /** Closes the connection (handlers are dropped; waits end on their own timers). */
  close(): void {
    this.#closed = true;
    this.#channels.clear();
    this.#onResubscribed.clear();
    this.#client?.disconnect();
  }

  #connection(): Redis {
    if (this.#client !== undefined) return this.#client;
    const client = this.#open();
    this.#client = client;
    // Errors reach the calls that wait on them; this listener keeps ioredis from printing them.
    client.on('error', () => undefined);
    client.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const ch = this.#channels.get(channel.toString());
      if (ch === undefined) return;
      for (const h of [...ch.handlers]) h(message);
    });
    client.on('ready', () => {
      if (!this.#connectedOnce) {
        this.#connectedOnce = true;
        return;
      }
      // After ioredis' own ready handling (it replays queued commands): subscribe again, then tell.
      process.nextTick(() => this.#resubscribe(client));
    });
    client.connect().catch(() => undefined);
    return client;
  }

  #resubscribe(client: Redis): void {
    const names = [...this.#channels.keys()];
    const again = names.length === 0 ? Promise.resolve() : client.subscribe(...names).then(() => undefined);
    again.then(() => {
      if (this.#closed) return;
      for (const hook of [...this.#onResubscribed]) hook();
    }, () => undefined); // dropped again: the next 'ready' tries once more
  }
}
