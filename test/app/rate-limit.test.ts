// Rate-limit notation both ways: parseRateLimit reads Celery's '10/s', '100/m', '5/h' and numbers;
// formatRateLimit writes a broker rate back in that notation (a worker shows overrides so).
import t from 'tap';
import { formatRateLimit, parseRateLimit } from '../../client/app/rate-limit.js';

t.test('format is the inverse of parse', async (t) => {
  for (const text of ['10/s', '100/m', '5/h', '0']) t.equal(formatRateLimit(parseRateLimit(text, 'x')), text, text);
  t.equal(formatRateLimit({ count: 3, intervalMs: 500 }), '6', 'another interval: starts per second');
  t.same(parseRateLimit(2.5, 'x'), { count: 2.5, intervalMs: 1_000 });
});
