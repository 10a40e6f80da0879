// The pure parts of the AMQP 0-9-1 opening handshake [AMQP 0-9-1 §2.2.4]: what connection.start
// offers, reading a SASL response (PLAIN, AMQPLAIN) and the client's capabilities from start-ok, and
// checking tune-ok against what connection.tune proposed. No socket here; connection.ts drives it.
import { fail } from '../../shared/errors.js';
import { FRAME, FieldTable, type MethodOf } from './codec/index.js';

/** SASL mechanisms offered, as connection.start lists them (space-separated). */
export const MECHANISMS = ['PLAIN', 'AMQPLAIN'] as const;

/** Capabilities this server announces in connection.start's server-properties. */
export const SERVER_CAPABILITIES = Object.freeze({
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
});

/** What connection.tune proposes; the client may lower each in tune-ok, never raise it. */
export interface TuneProposal {
  /** Highest channel number (RabbitMQ's default, 2047). */
  readonly channelMax: number;
  /** Largest frame in bytes (RabbitMQ's default, 128 KiB). */
  readonly frameMax: number;
  /** Heartbeat interval in seconds; 0 proposes none. */
  readonly heartbeat: number;
}

/** The proposal for a broker whose heartbeat limit is `heartbeatMs` (WebSocket side's too). */
export function tuneProposal(heartbeatMs: number): TuneProposal {
  return { channelMax: 2047, frameMax: 131072, heartbeat: Math.min(0xffff, Math.ceil(heartbeatMs / 1000)) };
}

/** connection.start's server-properties. */
export function serverProperties(version: string): FieldTable {
  return FieldTable.fromObject({
    product: 'celeriac',
    version,
    platform: `Node.js ${process.version}`,
    information: 'celeriac broker-server: AMQP 0-9-1 listener',
    capabilities: { ...SERVER_CAPABILITIES },
  });
}

/** What a client said it understands, from start-ok's client-properties. */
export interface ClientCapabilities {
  /** Sends basic.cancel when a queue goes (otherwise its consumers just stop). */
  readonly consumerCancelNotify: boolean;
  /** Tells of flow control with connection.blocked / unblocked. */
  readonly connectionBlocked: boolean;
  /** A refused login is answered connection.close 403, not just a closed socket. */
  readonly authenticationFailureClose: boolean;
}

/** The capabilities in client-properties (all false when it names none, as an old client's do). */
export function clientCapabilities(props: FieldTable): ClientCapabilities {
  const caps = props.get('capabilities');
  const table = caps?.type === 'F' ? caps.value : FieldTable.EMPTY;
  const yes = (name: string): boolean => {
    const v = table.get(name);
    return v?.type === 't' && v.value;
  };
  return {
    consumerCancelNotify: yes('consumer_cancel_notify'),
    connectionBlocked: yes('connection.blocked'),
    authenticationFailureClose: yes('authentication_failure_close'),
  };
}

/** A name for the client in listings: connection_name, else product and version, from client-properties. */
export function clientName(props: FieldTable): string {
  const text = (key: string): string | undefined => {
    const v = props.get(key);
    return v?.type === 'S' ? v.value.toString('utf8') : undefined;
  };
  const named = text('connection_name');
  if (named !== undefined) return named;
  const product = text('product');
  const version = text('version');
  return product === undefined ? 'amqp' : version === undefined ? product : `${product} ${version}`;
}

/** The user name and password of a SASL response. */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/**
 * Reads start-ok's SASL response. PLAIN [RFC 4616]: authzid NUL authcid NUL password (the authzid
 * ignored, as RabbitMQ does); AMQPLAIN: a field table's entries (no length prefix) LOGIN and
 * PASSWORD. Throws ERR_AMQP_COMMAND_INVALID for a mechanism not offered, ERR_ACCESS_REFUSED for a
 * response that does not parse.
 */
export function readCredentials(mechanism: string, response: Buffer): Credentials {
  if (mechanism === 'PLAIN') {
    const first = response.indexOf(0);
    const second = first < 0 ? -1 : response.indexOf(0, first + 1);
    if (second < 0 || response.indexOf(0, second + 1) >= 0) throw fail('ERR_ACCESS_REFUSED', 'a PLAIN response must be authzid NUL user NUL password');
    return { user: response.toString('utf8', first + 1, second), password: response.toString('utf8', second + 1) };
  }
  if (mechanism === 'AMQPLAIN') {
    let table: FieldTable;
    try {
      table = FieldTable.decode(response, 2, 'AMQPLAIN response');
    } catch {
      throw fail('ERR_ACCESS_REFUSED', 'an AMQPLAIN response must be a field table of LOGIN and PASSWORD');
    }
    const text = (key: string): string => {
      const v = table.get(key);
      if (v?.type !== 'S') throw fail('ERR_ACCESS_REFUSED', `an AMQPLAIN response needs ${key} as a long string`);
      return v.value.toString('utf8');
    };
    return { user: text('LOGIN'), password: text('PASSWORD') };
  }
  throw fail('ERR_AMQP_COMMAND_INVALID', `unknown authentication mechanism '${mechanism}' (offered: ${MECHANISMS.join(' ')})`, { mechanism });
}

/** The limits a connection runs with after tune-ok. */
export interface Tuned {
  /** Highest channel number the client may open. */
  readonly channelMax: number;
  /** Largest frame either side may send; 0 = no limit. */
  readonly frameMax: number;
  /** Heartbeat interval in seconds; 0 = none. */
  readonly heartbeat: number;
}

/**
 * Checks tune-ok against the proposal [AMQP 0-9-1 §1.4.2.6]: the client may lower channel-max and
 * frame-max (0 takes the server's), not raise them, nor set a frame-max under frame-min-size
 * (ERR_AMQP_NOT_ALLOWED, as RabbitMQ answers). The heartbeat is the client's choice.
 */
export function acceptTune(proposal: TuneProposal, ok: MethodOf<'connection.tune-ok'>): Tuned {
  const channelMax = ok.channelMax === 0 ? proposal.channelMax : ok.channelMax;
  if (channelMax > proposal.channelMax) throw fail('ERR_AMQP_NOT_ALLOWED', `channel_max=${ok.channelMax} > ${proposal.channelMax} max channels`, { classId: 10, methodId: 31 });
  const frameMax = ok.frameMax === 0 ? proposal.frameMax : ok.frameMax;
  if (frameMax > proposal.frameMax) throw fail('ERR_AMQP_NOT_ALLOWED', `frame_max=${ok.frameMax} > ${proposal.frameMax} max size`, { classId: 10, methodId: 31 });
  if (frameMax < FRAME.MIN_SIZE) throw fail('ERR_AMQP_NOT_ALLOWED', `frame_max=${ok.frameMax} < ${FRAME.MIN_SIZE} min size`, { classId: 10, methodId: 31 });
  return { channelMax, frameMax, heartbeat: ok.heartbeat };
}
