// After a reconnect: declare again what this client declared, in order, then subscribe its
// consumers again under their tags. Pipelined; only server-named queues wait for their reply.
import { CeleriacError } from '../shared/errors.js';
import type { QueueInfo } from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';
import type { Consumers } from './consumer.js';
import { asCoded, asQueueInfo } from './replies.js';
import type { RequestFrame } from './requests.js';
import type { Topology } from './topology.js';

/** What replay needs of the connection. */
export interface ReplayHost {
  readonly topology: Topology;
  readonly consumers: Consumers;
  nextId(): number;
  /** Writes a request on the new socket now (before the connection is ready); settles with its reply. */
  send(frame: RequestFrame): Promise<unknown>;
  /** False once the socket being replayed on has dropped. */
  alive(): boolean;
  /** A declaration failed for a reason other than the socket dropping. */
  failed(err: CeleriacError): void;
  /** A server-named queue came back under a new name. */
  renamed(from: string, to: string): void;
  /** A consumer could not be subscribed again and is dropped. */
  cancelled(consumerTag: string, reason: string): void;
}

/**
 * Replays topology and consumers. Returns false when the socket dropped meanwhile (the caller's
 * next reconnect attempt starts over). Declaration failures are reported, not fatal: the rest of
 * the topology is still declared.
 */
export async function replay(host: ReplayHost): Promise<boolean> {
  const waits: Promise<void>[] = [];
  const renames = new Map<string, string>();
  const q = (name: string): string => renames.get(name) ?? name;
  const onFail = (what: string, err: unknown): void => {
    const e = asCoded(err);
    if (e.code === 'ERR_CONNECTION_CLOSED') return;
    host.failed(new CeleriacError(e.code, `re-declaring ${what} after a reconnect failed: ${e.message}`, { cause: e, details: e.details === undefined ? {} : { ...e.details } }));
  };
  const send = (frame: RequestFrame, what: string): void => {
    waits.push(host.send(frame).then(() => undefined, (err: unknown) => onFail(what, err)));
  };
  for (const e of host.topology.list()) {
    if (e.kind === 'exchange') {
      send({ op: OP.declareExchange, id: host.nextId(), name: e.name, type: e.type, options: e.options }, `exchange '${e.name}'`);
    } else if (e.kind === 'binding') {
      send({ op: OP.bindQueue, id: host.nextId(), queue: q(e.queue), exchange: e.exchange, pattern: e.pattern, args: e.args }, `binding '${e.queue}' <- '${e.exchange}' (${e.pattern})`);
    } else if (!e.serverNamed) {
      send({ op: OP.declareQueue, id: host.nextId(), name: e.name, options: e.options }, `queue '${e.name}'`);
    } else {
      try {
        const info = await redeclareServerNamed(host, e.name, e.options);
        if (!host.alive()) return false;
        if (info.queue !== e.name) {
          renames.set(e.name, info.queue);
          host.topology.renameQueue(e.name, info.queue);
          host.consumers.renameQueue(e.name, info.queue);
          host.renamed(e.name, info.queue);
        }
      } catch (err) {
        if (!host.alive()) return false;
        onFail(`server-named queue '${e.name}'`, err);
      }
    }
  }
  for (const c of host.consumers.live()) {
    const tag = c.tag;
    waits.push(host.send({ op: OP.consume, id: host.nextId(), queue: c.queue, options: c.options }).then(
      () => undefined,
      (err: unknown) => {
        const e = asCoded(err);
        if (e.code === 'ERR_CONNECTION_CLOSED') return;
        if (host.consumers.remove(tag)) host.cancelled(tag, `re-subscribing after a reconnect failed: ${e.message}`);
      },
    ));
  }
  await Promise.all(waits);
  return host.alive();
}

/**
 * A server-named queue that outlived the socket (durable, not exclusive) keeps its name and its
 * messages; one that died with it — or is still held by the dead socket on the broker's side —
 * is reserved (`amq.gen-*`), so the broker refuses the name and a fresh one is asked for.
 */
async function redeclareServerNamed(host: ReplayHost, name: string, options: Parameters<Topology['queueDeclared']>[1]): Promise<QueueInfo> {
  try {
    return asQueueInfo(await host.send({ op: OP.declareQueue, id: host.nextId(), name, options }), name);
  } catch (err) {
    const code = asCoded(err).code;
    if (code !== 'ERR_ACCESS_DENIED' && code !== 'ERR_RESOURCE_LOCKED') throw err;
    return asQueueInfo(await host.send({ op: OP.declareQueue, id: host.nextId(), name: '', options }), '');
  }
}
