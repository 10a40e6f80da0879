// The narrow views the AMQP front-end's parts get of each other: the engine operations it uses, what
// a channel needs from its connection, and what a method handler needs from its channel.
import type { Limits } from '../../shared/limits.js';
import type { EngineApi, EngineConnection } from '../engine/types.js';
import type { ContentCommand, MethodInput, MethodOf } from './codec/index.js';
import type { ConfirmTracker } from './confirms.js';
import type { ClientCapabilities } from './handshake.js';
import type { PropertyMapping } from './message-properties.js';
import type { FrameOutput } from './output.js';

/** The engine operations an AMQP connection performs. */
export type AmqpEngine = Pick<EngineApi,
  | 'openConnection' | 'openChannel' | 'closeConnection' | 'resume'
  | 'declareExchange' | 'deleteExchange' | 'checkExchange' | 'declareQueue' | 'deleteQueue' | 'purgeQueue' | 'bindQueue' | 'unbindQueue' | 'bindExchange' | 'unbindExchange'
  | 'publish' | 'consume' | 'cancel' | 'ack' | 'nack' | 'reject' | 'get' | 'setPrefetch' | 'recover'>;

/** What a channel uses of its connection. */
export interface ChannelHost {
  readonly engine: AmqpEngine;
  /** The connection's engine handle (channels open under it). */
  readonly connection: EngineConnection;
  readonly out: FrameOutput;
  readonly limits: Readonly<Limits>;
  /** The authenticated user (a publish's user-id must name it). */
  readonly user: string;
  readonly capabilities: ClientCapabilities;
  readonly properties: PropertyMapping;
  /**
   * Counts a publish the engine has not answered yet against maxRequestsInProgress (reading pauses
   * at the bound); the returned function, called once, releases it.
   */
  publishing(): () => void;
  /** Flow control blocks connections that publish: this one does. */
  markPublisher(): void;
  /** The channel has confirms to send: they are added just before the turn's bytes go out. */
  confirmsReady(channel: number): void;
  /** The channel is closed for good (close-ok exchanged): its number may be opened again. */
  channelGone(channel: number): void;
  /** A hard error: closes the connection with its reply code, naming the method that caused it. */
  connectionError(err: unknown, classId: number, methodId: number): void;
  /** False while the socket holds more unsent bytes than it should: the engine holds deliveries back. */
  writable(): boolean;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
}

/** What a method handler may use to serve one command on one channel. */
export interface ChannelContext {
  readonly host: ChannelHost;
  /** The channel number. */
  readonly number: number;
  /** True once the channel closed: a late engine callback sends nothing on it. */
  readonly closed: boolean;
  /** The channel's engine handle: its consumers, delivery tags and unacked deliveries. */
  readonly session: EngineConnection;
  /** The queue last declared on this channel: what an empty queue name means [AMQP 0-9-1 §1.7.2]. */
  lastQueue: string | undefined;
  /** Prefetch given to consumers started from now on (basic.qos without global). */
  consumerPrefetch: number;
  /** Consumer tags in use on this channel. */
  readonly consumerTags: Set<string>;
  /** Set by confirm.select. */
  confirms: ConfirmTracker | null;
  /** Sends a method on this channel. */
  send(method: MethodInput): void;
  /** Sends a synchronous method's reply unless the request said nowait. */
  reply(nowait: boolean, method: MethodInput): void;
  /** The queue a method names, '' meaning the last one declared on the channel (404 when there is none). */
  queueName(name: string): string;
}

/** A handler of a method without content. */
export type MethodHandler<M> = (ctx: ChannelContext, method: M) => void;

/** The handler of basic.publish, the one content method a client sends. */
export type PublishHandler = (ctx: ChannelContext, command: ContentCommand & { method: MethodOf<'basic.publish'> }) => void;
