// Every command the backend sends, bounded and coded: a call rejects ERR_TIMEOUT once requestTimeout
// passed without a reply (Redis away: the command waits in ioredis' offline queue until then),
// and any other failure becomes its coded error (errors.ts). The deadline is ours, not ioredis'
// commandTimeout: that one also arms a timer on ioredis' own handshake commands, and those of a
// connection cut off mid-handshake are never cleared, keeping a process alive 30 s after close().
import type { Redis } from 'ioredis';
import { CeleriacError } from '../../../shared/errors.js';
import { redisError } from './errors.js';

export class Calls {
  constructor(
    /** The command connection. */
    readonly client: Redis,
    /** ms a call waits for its reply, queued while Redis is away included. */
    readonly timeout: number,
  ) {}

  /** Runs `fn` on the client; rejects with a coded error naming `what`. */
  run<T>(what: string, fn: (client: Redis) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Unref'd: a call still waiting does not hold a process that has nothing else left to do.
      const timer = setTimeout(() => reject(new CeleriacError('ERR_TIMEOUT', `${what}: Redis did not answer within ${this.timeout} ms`)), this.timeout);
      timer.unref();
      fn(this.client).then((v) => {
        clearTimeout(timer);
        resolve(v);
      }, (err: unknown) => {
        clearTimeout(timer);
        reject(redisError(err, what));
      });
    });
  }
}
