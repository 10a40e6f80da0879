// The dead-letter cycle rule on its own (no broker): which x-death histories send a copy round an
// automatic loop, per RabbitMQ's "dropped if there was no rejection in the entire cycle".
import t from 'tap';
import { isDeadLetterCycle } from '../../server/engine/dead-letter.js';

const death = (queue: string, reason: string): Record<string, unknown> => ({ queue, reason, count: 1, exchange: '', 'routing-keys': ['k'], time: 0 });

t.test('a copy going back into a queue of its history with no reject between is a cycle', async (t) => {
  t.ok(isDeadLetterCycle([death('a', 'expired')], 'a', 'expired'), 'a queue expiring into itself');
  t.ok(isDeadLetterCycle([death('b', 'expired'), death('a', 'expired')], 'a', 'expired'), 'a -> b -> a');
  t.ok(isDeadLetterCycle([death('b', 'expired'), death('a', 'maxlen')], 'a', 'expired'), 'the reasons may differ while all are automatic');
  t.ok(isDeadLetterCycle([death('c', 'delivery-limit'), death('b', 'maxlen'), death('a', 'expired')], 'b', 'delivery-limit'), 'a delivery limit counts as automatic');
});

t.test('a client reject in the loop, or a history a client wrote, keeps the copy going', async (t) => {
  t.notOk(isDeadLetterCycle([death('a', 'rejected')], 'a', 'rejected'), 'a reject now never cycles');
  t.notOk(isDeadLetterCycle([death('a', 'expired'), death('b', 'rejected')], 'b', 'expired'), 'the reject in b is part of the loop');
  t.notOk(isDeadLetterCycle([death('b', 'expired'), death('x', 'rejected'), death('a', 'expired')], 'a', 'expired'), 'a reject somewhere since a');
  t.ok(isDeadLetterCycle([death('b', 'expired'), death('a', 'expired'), death('x', 'rejected')], 'a', 'expired'), 'a reject older than the loop does not count');
  t.notOk(isDeadLetterCycle([death('b', 'expired'), 'forged', death('a', 'expired')], 'a', 'expired'), 'a non-table entry');
  t.notOk(isDeadLetterCycle([death('b', 'expired'), { queue: 'a' }], 'a', 'expired'), 'an entry without a reason');
  t.notOk(isDeadLetterCycle('not a list', 'a', 'expired'));
  t.notOk(isDeadLetterCycle(undefined, 'a', 'expired'));
  t.notOk(isDeadLetterCycle([death('b', 'expired')], 'a', 'expired'), 'a queue not in the history');
});
