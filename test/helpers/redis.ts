// Real Redis for tests: Debian's redis-server as a child on 127.0.0.1 and a free port, nothing
// persisted, stopped in teardown; restartable on the same port for "Redis goes away" tests.
import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startService, type Service } from './service-process.js';

const REDIS_SERVER = '/usr/bin/redis-server';
/** Redis starts in milliseconds; this is only the limit for a broken start. */
const START_TIMEOUT_MS = 20_000;

/** Options of `startRedis`. */
export interface RedisOptions {
  /** Sets `requirepass`: clients must AUTH (the URL then carries it). */
  password?: string;
}

/** A Redis server started by `startRedis`. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT/0`, with `:password@` when one is set. */
  readonly url: string;
  readonly port: number;
  readonly password: string | undefined;
  /** Stops the server (SIGTERM; its data is gone: nothing is saved). Idempotent. */
  stop(): Promise<void>;
  /** Stops the server if it runs, then starts a fresh, empty one on the same port; resolves once it answers PING. */
  restart(): Promise<void>;
}

/** A reply in RESP (Redis' protocol): simple strings and bulk strings as strings, errors as `RespError`. */
export type RespValue = string | number | null | RespError | RespValue[];

/** A `-ERR ...` reply. */
export class RespError {
  constructor(readonly message: string) {}
}

/**
 * Parses one RESP reply from `buf` at `at`: the value and where the next reply starts, or undefined
 * when `buf` does not hold all of it yet.
 */
export function parseResp(buf: Buffer, at = 0): { value: RespValue; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  switch (String.fromCharCode(buf[at]!)) {
    case '+': return { value: line, end: eol + 2 };
    case '-': return { value: new RespError(line), end: eol + 2 };
    case ':': return { value: Number(line), end: eol + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), end: eol + 2 + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: eol + 2 };
      const items: RespValue[] = [];
      let next = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, next);
        if (item === undefined) return undefined;
        items.push(item.value);
        next = item.end;
      }
      return { value: items, end: next };
    }
    default: throw new Error(`not a RESP reply: ${JSON.stringify(buf.toString('utf8', at, eol))}`);
  }
}

/** One command as RESP: an array of bulk strings. */
function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

/**
 * Sends `commands` over one fresh connection to 127.0.0.1:`port` and resolves their replies, in
 * order: a raw RESP exchange, so tests can look at Redis without a client library. Rejects on a
 * connection error, or after `timeoutMs`.
 */
export function redisCommands(port: number, commands: readonly (readonly string[])[], timeoutMs = 5_000): Promise<RespValue[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const replies: RespValue[] = [];
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err); else resolve(replies);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from Redis on port ${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`Redis on port ${port} closed the connection after ${replies.length} of ${commands.length} replies`)));
    socket.once('connect', () => socket.write(Buffer.concat(commands.map(encodeCommand))));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let parsed = parseResp(buf);
      while (parsed !== undefined) {
        replies.push(parsed.value);
        buf = buf.subarray(parsed.end);
        if (replies.length === commands.length) return finish();
        parsed = buf.length > 0 ? parseResp(buf) : undefined;
      }
    });
  });
}

/** Resolves once the server answers PING (after AUTH when it has a password); rejects after `ms` or if it exits. */
async function untilPong(port: number, password: string | undefined, service: Service, ms: number): Promise<void> {
  const end = Date.now() + ms;
  const commands = password === undefined ? [['PING']] : [['AUTH', password], ['PING']];
  let last = '';
  for (;;) {
    try {
      const replies = await redisCommands(port, commands, 1_000);
      if (replies[replies.length - 1] === 'PONG') return;
      last = JSON.stringify(replies);
    } catch (err) {
      last = (err as Error).message;
    }
    if (!service.running()) throw new Error(`redis-server exited before it answered PING:\n${service.output().slice(-4000)}`);
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for redis-server to answer PING (last: ${last}):\n${service.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts redis-server on 127.0.0.1 and a free port, saving nothing (`--save ''`, no AOF), and stops
 * it when `t` ends. Cheap (milliseconds): one per test is fine.
 */
export async function startRedis(t: Test, options: RedisOptions = {}): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'celeriac-redis-'));
  const port = await freePort();
  const { password } = options;
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  if (password !== undefined) args.push('--requirepass', password);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

  let service: Service | undefined;
  const start = async (): Promise<void> => {
    const s = startService(REDIS_SERVER, args, { env, cwd: dir });
    service = s;
    await untilPong(port, password, s, START_TIMEOUT_MS);
  };
  const stop = async (): Promise<void> => {
    const s = service;
    service = undefined;
    if (s !== undefined) await s.stop(5_000);
  };
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  await start();
  const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}/0`,
    port,
    password,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}
