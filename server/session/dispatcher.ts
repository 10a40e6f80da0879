// The one dispatcher: opcode -> handler, and the connection's rules in one place — nothing but
// hello before the handshake, an opcode without a handler is refused, errors end what they scope.
import { CeleriacError, fail } from '../../shared/errors.js';
import type { Frame, HelloFrame } from '../../shared/frames.js';
import { OP, opName } from '../../shared/opcodes.js';
import type { HandlerContext } from './context.js';
import * as conn from './handlers/connection.js';
import * as consume from './handlers/consume.js';
import { publish } from './handlers/publish.js';
import * as results from './handlers/results.js';
import { finish } from './handlers/finish.js';
import * as control from './handlers/control.js';
import * as groups from './handlers/groups.js';
import * as beat from './handlers/beat.js';
import { eventsRead } from './handlers/events.js';
import * as topology from './handlers/topology.js';

type FrameOf<K extends Frame['op']> = Extract<Frame, { op: K }>;
type Handler<K extends Frame['op']> = (ctx: HandlerContext, frame: FrameOf<K>) => void;
type HandlerTable = { [K in Frame['op']]?: Handler<K> };

/**
 * Frames a client may send once the connection is open. Server-to-client opcodes (welcome,
 * confirm, deliver, flow, cancelNotify, revoked, scheduleChanged) have no handler, so a client sending one is refused.
 */
const HANDLERS: HandlerTable = {
  [OP.heartbeat]: conn.heartbeat,
  [OP.close]: conn.close,
  [OP.error]: conn.peerError,
  [OP.declareExchange]: topology.declareExchange,
  [OP.deleteExchange]: topology.deleteExchange,
  [OP.declareQueue]: topology.declareQueue,
  [OP.deleteQueue]: topology.deleteQueue,
  [OP.purgeQueue]: topology.purgeQueue,
  [OP.bindQueue]: topology.bindQueue,
  [OP.unbindQueue]: topology.unbindQueue,
  [OP.publish]: publish,
  [OP.consume]: consume.consume,
  [OP.cancel]: consume.cancel,
  [OP.ack]: consume.ack,
  [OP.nack]: consume.nack,
  [OP.reject]: consume.reject,
  [OP.get]: consume.get,
  [OP.resultStore]: results.resultStore,
  [OP.resultGet]: results.resultGet,
  [OP.resultWait]: results.resultWait,
  [OP.resultForget]: results.resultForget,
  [OP.finish]: finish,
  [OP.revoke]: control.revoke,
  [OP.revokedCheck]: control.revokedCheck,
  [OP.rateAcquire]: control.rateAcquire,
  [OP.rateSet]: control.rateSet,
  [OP.rateOverrides]: control.rateOverrides,
  [OP.rateRelease]: control.rateRelease,
  [OP.groupDeclare]: groups.groupDeclare,
  [OP.groupGet]: groups.groupGet,
  [OP.scheduleUpsert]: beat.scheduleUpsert,
  [OP.scheduleRemove]: beat.scheduleRemove,
  [OP.schedulePause]: beat.schedulePause,
  [OP.scheduleList]: beat.scheduleList,
  [OP.scheduleWatch]: beat.scheduleWatch,
  [OP.leaseAcquire]: beat.leaseAcquire,
  [OP.leaseRelease]: beat.leaseRelease,
  [OP.beatFire]: beat.beatFire,
  [OP.beatAdvance]: beat.beatAdvance,
  [OP.eventsRead]: eventsRead,
};

/** What the dispatcher needs from a session. */
export interface DispatchTarget {
  /** 'handshake' until the welcome is sent; 'open' after; anything else drops frames. */
  readonly phase: 'handshake' | 'authenticating' | 'open' | 'closing' | 'closed';
  /** The handler context; only read once the phase is 'open'. */
  readonly context: HandlerContext;
  /** Starts the handshake (the session authenticates and answers welcome or refuses). */
  hello(frame: HelloFrame): void;
  /** Sends an error frame for request `id`; closes the connection when the error's scope says so. */
  failed(id: number, err: CeleriacError): void;
}

function requestId(frame: Frame): number {
  return 'id' in frame && typeof frame.id === 'number' ? frame.id : 0;
}

/**
 * Handles one frame: the connection's rules, then its handler. A request-scoped error answers that
 * request and the connection goes on; a connection-scoped one ends it, and every frame after it
 * (this one returns at once once the phase is closing). The session's inbox calls this for each
 * frame of each message in order, so a batch behaves exactly as one message per frame.
 */
export function dispatchFrame(target: DispatchTarget, frame: Frame): void {
  if (target.phase === 'closing' || target.phase === 'closed') return;
  const id = requestId(frame);
  try {
    if (target.phase !== 'open') {
      // Only hello, and only once; anything before the welcome left is refused [like AMQP §4.2.3].
      if (frame.op !== OP.hello || target.phase === 'authenticating') {
        throw fail('ERR_HANDSHAKE_REQUIRED', `${opName(frame.op) ?? frame.op} sent before the hello was answered`);
      }
      target.hello(frame);
      return;
    }
    const handler = HANDLERS[frame.op] as Handler<typeof frame.op> | undefined;
    if (handler === undefined) {
      const name = frame.op === OP.hello ? 'a second hello' : `${opName(frame.op)} (${frame.op})`;
      throw fail('ERR_UNKNOWN_OPCODE', `${name} is not accepted from a client`, { opcode: frame.op });
    }
    handler(target.context, frame as never);
  } catch (err) {
    if (err instanceof CeleriacError) {
      target.failed(id, err);
    } else {
      const reason = err instanceof Error ? (err.stack ?? err.message) : String(err);
      target.context.log('error', `internal error handling ${opName(frame.op)}: ${reason}`);
      target.failed(id, new CeleriacError('ERR_INTERNAL', `internal error handling ${opName(frame.op)}; the connection is closed`, { cause: err }));
    }
  }
}
