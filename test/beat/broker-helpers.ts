// Shared bits of the broker-side beat tests: connections closed at teardown, unique names, a task
// message as a beat would send it, and a queue's message count.
import type { Test } from 'tap';
import { connect, type Connection } from '../../client/index.js';
import type { BeatFireRequest } from '../../client/beat/types.js';
import type { Broker } from '../../server/index.js';
import { CeleriacError } from '../../shared/errors.js';
import type { FinishPublish } from '../../shared/frames.js';

let counter = 0;
/** A name no other test uses. */
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

/** A client of `broker` (no reconnect unless asked), closed at teardown. */
export async function openClient(t: Test, broker: Broker | string, options: { reconnect?: boolean } = {}): Promise<Connection> {
  const url = typeof broker === 'string' ? broker : broker.url;
  const conn = await connect(url, { reconnect: options.reconnect ?? false, reconnectBackoff: { initial: 20, max: 200 } });
  conn.on('error', () => undefined);
  t.teardown(() => conn.close());
  return conn;
}

/** A task message for `queue` through the default exchange, tracked as `taskId` (persistent). */
export function taskMessage(queue: string, taskId: string): FinishPublish {
  return {
    exchange: '', routingKey: queue, body: Buffer.from(JSON.stringify([[16, 16], {}, {}])),
    props: { persistent: true, correlationId: taskId, contentType: 'application/json', headers: { task: 't.add', id: taskId } },
    track: { taskId },
  };
}

/** A fire of `entry` at `scheduledAt` under lease `lease` held by `holder` at `epoch`, sending one task message to `queue`. */
export function fireOf(o: { lease: string; holder: string; epoch: number; entry: string; revision: number; scheduledAt: number; queue: string; taskId: string; nextRunAt?: number | null }): BeatFireRequest {
  return {
    lease: o.lease, holder: o.holder, epoch: o.epoch, entry: o.entry, revision: o.revision, scheduledAt: o.scheduledAt,
    nextRunAt: o.nextRunAt === undefined ? o.scheduledAt + 1_000 : o.nextRunAt, publishes: [taskMessage(o.queue, o.taskId)],
  };
}

/** Messages in a queue (ready and unacked), as the broker counts them. */
export async function messageCount(conn: Connection, queue: string): Promise<number> {
  return (await conn.checkQueue(queue)).messageCount;
}

/** The code a promise rejects with (undefined when it resolves). */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof CeleriacError ? err.code : `not a CeleriacError: ${String(err)}`;
  }
}
