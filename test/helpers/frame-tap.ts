// A TCP forwarder that reads what clients send to the broker: after each connection's HTTP upgrade
// it parses the WebSocket frames (client frames are masked, never compressed here) and decodes
// every message into its protocol frames, so a test can count the frames a client really sent.
// It can also cut every forwarded connection (a dropped link for each client).
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import { decode } from '@msgpack/msgpack';
import type { Test } from 'tap';

export interface FrameTap {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** The opcode of every frame clients sent, in arrival order (all connections). */
  readonly opcodes: number[];
  /** Closes every forwarded connection. */
  cut(): void;
}

/** Parses one direction of a WebSocket connection (client to server) after its upgrade request. */
class ClientStream {
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private fragments: Buffer[] = [];

  constructor(private readonly onMessage: (payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = true;
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskAt = off;
      if (masked) off += 4;
      if (this.buf.length < off + len) return;
      const payload = Buffer.from(this.buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= this.buf[maskAt + (i & 3)]!;
      this.buf = this.buf.subarray(off + len);
      const opcode = b0 & 0x0f;
      // Binary (2) starts a message, continuation (0) goes on with it; control frames are skipped.
      if (opcode === 2 || opcode === 0) {
        this.fragments.push(payload);
        if ((b0 & 0x80) !== 0) {
          this.onMessage(Buffer.concat(this.fragments));
          this.fragments = [];
        }
      }
    }
  }
}

/** Forwards 127.0.0.1:<tap port> to 127.0.0.1:`targetPort`, reading client frames; stopped at teardown. */
export async function startFrameTap(t: Test, targetPort: number): Promise<FrameTap> {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const opcodes: number[] = [];
  const onMessage = (payload: Buffer): void => {
    const value = decode(payload) as unknown[];
    // A batch is an array of frames; a single frame starts with its opcode.
    const frames = Array.isArray(value[0]) ? (value as unknown[][]) : [value];
    for (const f of frames) opcodes.push(f[0] as number);
  };
  const server = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); }
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const stream = new ClientStream(onMessage);
    client.on('data', (chunk: Buffer) => {
      stream.push(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('frame tap: no port');
  return {
    port: address.port,
    opcodes,
    cut() { for (const c of [...clients]) c.destroy(); },
  };
}
