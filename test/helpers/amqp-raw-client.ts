// A bare AMQP 0-9-1 client for tests: a TCP socket, frames encoded and decoded with the listener's own
// codec, nothing hidden, so tests can send garbage, truncated or out-of-order frames and see exactly
// what the broker answers (and when it closes the socket).
import { connect, type Socket } from 'node:net';
import {
  FieldTable, PROTOCOL_HEADER, decodeFrames, encodeContentCommand, encodeMethodFrame,
  type BasicProperties, type Frame, type MethodInput, type MethodName, type MethodOf,
} from '../../server/amqp/codec/index.js';

const WAIT_MS = 5_000;

type Waiter = { pick: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** What the handshake sends; each has a default that opens the connection as guest on '/'. */
export interface HandshakeOptions {
  user?: string;
  password?: string;
  vhost?: string;
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
  /** Client capabilities in start-ok (default: none, as an old client). */
  capabilities?: Record<string, boolean>;
}

export class AmqpRawClient {
  /** Frames received and not yet taken by next(). */
  readonly inbox: Frame[] = [];
  /** Every byte received (to check a refusal's protocol header). */
  received = Buffer.alloc(0);
  private pending = Buffer.alloc(0);
  private headerSeen = false;
  closed = false;
  private readonly waiters: Waiter[] = [];
  private readonly closeWaiters: (() => void)[] = [];
  /** The peer sent something the codec cannot decode (only a test of the broker's output would see this). */
  decodeError: Error | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error('socket closed while waiting for a frame')); }
      for (const c of this.closeWaiters.splice(0)) c();
    });
    socket.on('error', () => undefined);
  }

  /** Opens a TCP connection (nothing sent). */
  static open(port: number, host = '127.0.0.1'): Promise<AmqpRawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no connection to ${host}:${port}`)); }, WAIT_MS);
      socket.once('connect', () => { clearTimeout(timer); resolve(new AmqpRawClient(socket)); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  /** Opens a connection and goes through start, tune and open; rejects if the broker refuses. */
  static async connect(port: number, options: HandshakeOptions = {}): Promise<AmqpRawClient> {
    const c = await AmqpRawClient.open(port);
    await c.handshake(options);
    return c;
  }

  private onData(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    this.pending = Buffer.concat([this.pending, chunk]);
    // A refusal is a bare protocol header: the broker's answer before any frame.
    if (!this.headerSeen && this.pending.subarray(0, 4).toString('latin1') === 'AMQP') {
      if (this.pending.length < 8) return;
      this.pending = this.pending.subarray(8);
    }
    this.headerSeen = true;
    const r = decodeFrames(this.pending, { frameMax: 0 });
    this.pending = this.pending.subarray(r.consumed);
    if (r.error !== undefined) this.decodeError = r.error;
    for (const f of r.frames) this.receive(f);
  }

  private receive(f: Frame): void {
    const i = this.waiters.findIndex((w) => w.pick(f));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(f);
      return;
    }
    this.inbox.push(f);
  }

  /** Sends raw bytes. */
  send(bytes: Buffer | Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends one method frame. */
  method(channel: number, method: MethodInput): void {
    this.send(encodeMethodFrame(channel, method));
  }

  /** Sends a content method with its header and body frames. */
  content(channel: number, method: MethodInput, properties: BasicProperties, body: Buffer, frameMax = 131072): void {
    this.send(encodeContentCommand(channel, method, properties, body, frameMax));
  }

  /** The next frame `pick` accepts (from the inbox first); rejects after `ms` or when the socket closes. */
  next(pick: (f: Frame) => boolean = () => true, ms = WAIT_MS): Promise<Frame> {
    const i = this.inbox.findIndex(pick);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.closed) return Promise.reject(new Error('socket closed'));
    return new Promise((resolve, reject) => {
      const w: Waiter = { pick, resolve, reject, timer: setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching frame within ${ms} ms (inbox: ${this.inbox.map(describe).join(', ')})`));
      }, ms) };
      this.waiters.push(w);
    });
  }

  /** The next method named `name` (on any channel unless given). */
  async expect<N extends MethodName>(name: N, channel?: number, ms = WAIT_MS): Promise<MethodOf<N> & { channel: number }> {
    const f = await this.next((x) => x.type === 'method' && x.method.name === name && (channel === undefined || x.channel === channel), ms);
    if (f.type !== 'method') throw new Error('unreachable');
    return { ...(f.method as MethodOf<N>), channel: f.channel };
  }

  /** Resolves when the socket has closed; rejects after `ms`. */
  whenClosed(ms = WAIT_MS): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
      this.closeWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Start, start-ok (PLAIN), tune, tune-ok, open, open-ok. */
  async handshake(o: HandshakeOptions = {}): Promise<void> {
    this.send(PROTOCOL_HEADER);
    await this.expect('connection.start', 0);
    this.method(0, {
      name: 'connection.start-ok',
      clientProperties: FieldTable.fromObject({ product: 'raw-test', capabilities: { ...(o.capabilities ?? {}) } }),
      mechanism: 'PLAIN',
      response: Buffer.from(`\u0000${o.user ?? 'guest'}\u0000${o.password ?? 'guest'}`),
      locale: 'en_US',
    });
    const tune = await this.replyOrClose('connection.tune') as MethodOf<'connection.tune'>;
    this.method(0, { name: 'connection.tune-ok', channelMax: o.channelMax ?? tune.channelMax, frameMax: o.frameMax ?? tune.frameMax, heartbeat: o.heartbeat ?? 0 });
    this.method(0, { name: 'connection.open', virtualHost: o.vhost ?? '/' });
    await this.replyOrClose('connection.open-ok');
  }

  /** The handshake's next method `name` on channel 0; a connection.close instead is answered close-ok and thrown as "refused: CODE TEXT". */
  private async replyOrClose(name: MethodName): Promise<MethodOf<MethodName>> {
    const f = await this.next((x) => x.type === 'method' && x.channel === 0 && (x.method.name === name || x.method.name === 'connection.close'));
    if (f.type !== 'method') throw new Error('unreachable');
    if (f.method.name === 'connection.close') {
      this.method(0, { name: 'connection.close-ok' });
      throw new Error(`refused: ${f.method.replyCode} ${f.method.replyText}`);
    }
    return f.method;
  }

  /** Opens channel `n` and waits for open-ok. */
  async openChannel(n: number): Promise<void> {
    this.method(n, { name: 'channel.open' });
    await this.expect('channel.open-ok', n);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function describe(f: Frame): string {
  return f.type === 'method' ? `${f.channel}:${f.method.name}` : `${f.channel}:${f.type}`;
}
