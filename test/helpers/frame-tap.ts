// A TCP forwarder (tcp-gate.ts) that reads what clients send to the broker: after each
// connection's HTTP upgrade it parses the WebSocket frames (client frames are masked, never
// compressed here) and decodes every message into its protocol frames, so a test can count the
// frames a client really sent.
// It can also cut every forwarded connection (a dropped link for each client).
import { decode } from '@msgpack/msgpack';
import type { Test } from 'tap';
import { startTcpGate } from './tcp-gate.js';

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

/** Forwards 127.0.0.1:<tap port> to 127.0.0.1:`targetPort` (a TcpGate), reading client frames; stopped at teardown. */
export async function startFrameTap(t: Test, targetPort: number): Promise<FrameTap> {
  const opcodes: number[] = [];
  const onMessage = (payload: Buffer): void => {
    const value = decode(payload) as unknown[];
    // A batch is an array of frames; a single frame starts with its opcode.
    const frames = Array.isArray(value[0]) ? (value as unknown[][]) : [value];
    for (const f of frames) opcodes.push(f[0] as number);
  };
  const gate = await startTcpGate(t, targetPort, () => {
    const stream = new ClientStream(onMessage);
    return (chunk) => stream.push(chunk);
  });
  return { port: gate.port, opcodes, cut: () => gate.cut() };
}
