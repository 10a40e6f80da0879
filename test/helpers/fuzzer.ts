// Drives seeded hostile inputs (fuzz-inputs.ts) at a broker over real WebSockets for a bounded
// time: several connections at once, each reopened whenever the broker closes it, some never
// sending a hello. Tallies what was sent and every error code the broker answered with.
import WebSocket from 'ws';
import { FrameCodec } from '../../shared/codec.js';
import type { Frame } from '../../shared/frames.js';
import { OP, PROTOCOL_VERSION } from '../../shared/opcodes.js';
import { openingInputs, randomInput, type InputKind } from './fuzz-inputs.js';
import { rng } from './rng.js';

/** What one fuzz run did and saw. */
export interface FuzzReport {
  seed: number;
  /** Messages sent, by kind of input. */
  inputs: Partial<Record<InputKind, number>>;
  messages: number;
  bytes: number;
  /** Connections opened (each closed by the broker is replaced). */
  connections: number;
  /** Connections the broker closed (or cut). */
  closedByBroker: number;
  /** Error frames received, by code. */
  errorCodes: Record<string, number>;
  /** Messages from the broker this side could not decode: the broker sent garbage (should be 0). */
  undecodable: number;
}

export interface FuzzOptions {
  url: string;
  seed: number;
  durationMs: number;
  /** Hostile connections at once. */
  connections: number;
  /** The broker's maxFramesPerMessage. */
  cap: number;
}

// Reads whatever the broker sends: bodies may be as large as the fuzzer's own.
const reader = new FrameCodec({ maxBodySize: 64 * 1024 * 1024 });
const HELLO_WAIT_MS = 3_000;
/** Unsent bytes above which a fuzz connection waits before its next input. */
const SEND_AHEAD = 256 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `connections` fuzz loops until `durationMs` is over; resolves once every socket is closed. */
export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = { seed: opts.seed, inputs: {}, messages: 0, bytes: 0, connections: 0, closedByBroker: 0, errorCodes: {}, undecodable: 0 };
  const deadline = Date.now() + opts.durationMs;
  await Promise.all(Array.from({ length: opts.connections }, (_, i) => loop(opts, rng(opts.seed * 31 + i), deadline, report, i === 0)));
  return report;
}

/** One fuzz connection; `cut()` ends it from our side, so its close is not counted as the broker's. */
interface FuzzSocket {
  ws: WebSocket;
  cut(): Promise<void>;
}

/** `opening`: this loop sends openingInputs() before its random ones (the first loop does). */
async function loop(opts: FuzzOptions, r: () => number, deadline: number, report: FuzzReport, opening: boolean): Promise<void> {
  let s: FuzzSocket | undefined;
  const first = opening ? openingInputs(r, opts.cap) : [];
  try {
    while (Date.now() < deadline) {
      if (s === undefined || s.ws.readyState !== WebSocket.OPEN) s = await open(opts.url, r, report);
      if (s === undefined) continue;
      const input = first.shift() ?? randomInput(r, opts.cap);
      // Out of order: a second hello, now and then, in the middle of everything else.
      if (r() < 0.02) s.ws.send(reader.encode({ op: OP.hello, id: 1, version: PROTOCOL_VERSION }));
      s.ws.send(input.data, { binary: typeof input.data !== 'string' });
      report.inputs[input.kind] = (report.inputs[input.kind] ?? 0) + 1;
      report.messages++;
      report.bytes += typeof input.data === 'string' ? input.data.length : input.data.byteLength;
      await sleep(0);
      while (s.ws.readyState === WebSocket.OPEN && s.ws.bufferedAmount > SEND_AHEAD && Date.now() < deadline) await sleep(5);
    }
  } finally {
    await s?.cut();
  }
}

/** A new connection: usually with a hello (mostly good, sometimes wrong), sometimes without. */
async function open(url: string, r: () => number, report: FuzzReport): Promise<FuzzSocket | undefined> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  ws.binaryType = 'nodebuffer';
  report.connections++;
  let ours = false;
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer) => {
    try {
      for (const f of reader.decode(data)) if (f.op === OP.error) report.errorCodes[f.code] = (report.errorCodes[f.code] ?? 0) + 1;
    } catch {
      report.undecodable++;
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => {
    if (!ours) report.closedByBroker++;
    resolve();
  }));
  const s: FuzzSocket = {
    ws,
    cut: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ours = true;
      ws.terminate();
      await Promise.race([closed, sleep(HELLO_WAIT_MS)]);
    },
  };
  const opened = await Promise.race([new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))), closed.then(() => false), sleep(HELLO_WAIT_MS).then(() => false)]);
  if (!opened) {
    await s.cut();
    return undefined;
  }
  const p = r();
  if (p < 0.1) return s; // no hello at all: everything it sends comes before the handshake
  const hello = p < 0.85
    ? { op: OP.hello, id: 1, version: PROTOCOL_VERSION }
    : { op: OP.hello, id: 1, version: r() < 0.5 ? 2 : PROTOCOL_VERSION, user: r() < 0.5 ? 'guest' : 'fz\nforged', password: r() < 0.5 ? 'guest\u0000' : 'wrong', vhost: r() < 0.5 ? '/' : 'fz-none' };
  ws.send(reader.encode(hello as Frame));
  const answered = await Promise.race([new Promise<boolean>((resolve) => ws.once('message', () => resolve(true))), closed.then(() => false), sleep(HELLO_WAIT_MS).then(() => false)]);
  if (!answered || ws.readyState !== WebSocket.OPEN) {
    await s.cut();
    return undefined;
  }
  return s;
}
