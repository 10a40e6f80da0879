// What a read of stored results may carry to a client (server/session/reply-size.ts): a body the
// client's decoder takes (up to the larger of maxBodySize and maxMessageSize) and, for a group, a
// reply within the SDK's CLIENT_MAX_RECEIVE. A pure function over the reply: no broker needed.
import t from 'tap';
import { CLIENT_MAX_RECEIVE } from '../../shared/limits.js';
import type { Limits } from '../../shared/limits.js';
import { bodyBytesOf, resultReplyBytes } from '../../server/session/reply-size.js';

/** The refusal resultReplyBytes gives, or null when the reply can be sent (its byte count). */
const undecodableResult = (l: Pick<Limits, 'maxBodySize' | 'maxMessageSize'>, result: unknown) => {
  const bytes = resultReplyBytes(l, result);
  return typeof bytes === 'number' ? null : bytes;
};

const limits = { maxBodySize: 512 * 1024, maxMessageSize: 1024 * 1024 };
// Only byteLength is read: a view over one shared buffer stands for a body of any size.
const shared = new ArrayBuffer(CLIENT_MAX_RECEIVE);
const body = (n: number): Uint8Array => new Uint8Array(shared, 0, n);
const record = (taskId: string, n: number) => ({ taskId, state: 'SUCCESS', body: body(n) });

t.test('one stored result: refused only past what the client decodes', async (t) => {
  t.equal(undecodableResult(limits, null), null, 'an unknown task');
  t.equal(undecodableResult(limits, record('a', 1024 * 1024)), null, 'a body at maxMessageSize (above maxBodySize: stored before it was lowered)');
  const err = undecodableResult(limits, record('b', 1024 * 1024 + 1));
  t.match(err, { code: 'ERR_MESSAGE_TOO_LARGE', message: /^the stored result of task b is 1048577 bytes, more than this broker's limits let a client read \(1048576\)/, details: { size: 1048577, maxMessageSize: 1048576 } });
  t.equal(bodyBytesOf(record('c', 300)), 300, 'its body bytes are counted for the outbox');
});

t.test('a group: each member as one result, and all of them within one reply the client takes', async (t) => {
  const group = (n: number, size: number) => ({ groupId: 'g', members: [], results: Array.from({ length: n }, (_, i) => record(`m${i}`, size)) });
  t.equal(undecodableResult(limits, group(5, 250_000)), null, 'members together over maxMessageSize are still one reply the client takes');
  t.match(undecodableResult(limits, { ...group(1, 0), results: [null, record('big', 2 * 1024 * 1024)] }), { message: /stored result of task big is 2097152 bytes/ }, 'a member the decoder refuses');
  const big = { maxBodySize: 16 * 1024 * 1024, maxMessageSize: 64 * 1024 * 1024 };
  const fits = Math.floor(CLIENT_MAX_RECEIVE / 8) - 2048;
  t.equal(undecodableResult(big, group(8, fits)), null, 'a group just within CLIENT_MAX_RECEIVE');
  const err = undecodableResult(big, group(8, fits + 2048));
  t.match(err, { code: 'ERR_MESSAGE_TOO_LARGE', message: /^the group's 8 results come to about \d+ bytes, more than one reply to a client may carry \(104857600\); read a group's members one by one$/ });
  t.equal(bodyBytesOf(group(3, 10)), 30, 'a group counts its members\' bodies');
});
