// The protocol's vocabulary: every frame starts with one of these numbers.
// Numbers never change meaning once released; retired ones are never reused.

/** Opcodes of the celeriac wire protocol (see docs/protocol.md). */
export const OP = {
  hello: 1,
  welcome: 2,
  error: 3,
  ok: 4,
  heartbeat: 5,
  close: 6,
  flow: 7,

  declareExchange: 10,
  deleteExchange: 11,
  declareQueue: 12,
  deleteQueue: 13,
  purgeQueue: 14,
  bindQueue: 15,
  unbindQueue: 16,

  publish: 20,
  confirm: 21,
  consume: 22,
  cancel: 23,
  deliver: 24,
  ack: 25,
  nack: 26,
  reject: 27,
  get: 28,
  cancelNotify: 29,

  resultStore: 40,
  resultGet: 41,
  resultWait: 42,
  resultForget: 43,
  finish: 44,

  revoke: 45,
  revoked: 46,
  revokedCheck: 47,
  rateAcquire: 48,
  rateSet: 49,
  groupDeclare: 50,
  groupGet: 51,
  rateOverrides: 52,
  rateRelease: 53,

  scheduleUpsert: 54,
  scheduleRemove: 55,
  schedulePause: 56,
  scheduleList: 57,
  scheduleWatch: 58,
  scheduleChanged: 59,
  leaseAcquire: 60,
  leaseRelease: 61,
  beatFire: 62,
  beatAdvance: 63,

  eventsRead: 64,
} as const;

export type OpName = keyof typeof OP;
export type Opcode = (typeof OP)[OpName];

/** Version spoken by this build; hello carries the client's, welcome the server's. */
export const PROTOCOL_VERSION = 1;

const names = new Map<number, OpName>(Object.entries(OP).map(([k, v]) => [v, k as OpName]));

/** The name of an opcode, or undefined for a number nobody assigned. */
export function opName(code: number): OpName | undefined {
  return names.get(code);
}
