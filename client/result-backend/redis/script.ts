// A Lua script run by its SHA1 (EVALSHA), loaded with EVAL the first time a Redis does not know it
// (a new server, or one restarted empty). Replies come back with bulk strings as Buffers, since
// result bodies are bytes.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One argument of a script: keys and ARGV are strings or bytes. */
export type ScriptArg = string | Buffer | Uint8Array | number;

function asArg(a: ScriptArg): string | Buffer | number {
  return a instanceof Uint8Array && !Buffer.isBuffer(a) ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : a;
}

export class Script {
  readonly sha: string;

  constructor(readonly name: string, readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script on `client`; rejects with ioredis' error (the caller codes it: calls.ts). */
  async run(client: Redis, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const rest = [keys.length, ...keys, ...args.map(asArg)];
    try {
      return await client.callBuffer('EVALSHA', [this.sha, ...rest]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.callBuffer('EVAL', [this.lua, ...rest]);
    }
  }
}
