// The one table of the methods a client may send on an open channel, and their handlers. A method
// without an entry (tx.*, a server's own methods, access, channel.flow) is refused by the channel
// with 540 not-implemented, never dropped.
import type { MethodName, MethodOf } from '../codec/index.js';
import type { MethodHandler } from '../context.js';
import * as basic from './basic.js';
import * as exchange from './exchange.js';
import { select } from './publish.js';
import * as queue from './queue.js';

type HandlerTable = { [N in MethodName]?: MethodHandler<MethodOf<N>> };

/** Handlers by method name; basic.publish (content) and the channel class are the channel's own. */
export const HANDLERS: HandlerTable = {
  'exchange.declare': exchange.declare,
  'exchange.delete': exchange.remove,
  'exchange.bind': exchange.bind,
  'exchange.unbind': exchange.unbind,
  'queue.declare': queue.declare,
  'queue.bind': queue.bind,
  'queue.unbind': queue.unbind,
  'queue.purge': queue.purge,
  'queue.delete': queue.remove,
  'basic.qos': basic.qos,
  'basic.consume': basic.consume,
  'basic.cancel': basic.cancel,
  'basic.get': basic.get,
  'basic.ack': basic.ack,
  'basic.nack': basic.nack,
  'basic.reject': basic.reject,
  'basic.recover': basic.recover,
  'basic.recover-async': basic.recoverAsync,
  'confirm.select': select,
};
