// The default connection cap stays under the open-file limit, with room kept for the broker's files.
import t from 'tap';
import { DEFAULT_MAX_CONNECTIONS, defaultMaxConnections, openFileLimit } from '../../server/session/open-files.js';

t.test('the default cap: 10000, or the open-file limit less 64 when lower', async (t) => {
  t.equal(defaultMaxConnections(undefined), DEFAULT_MAX_CONNECTIONS, 'limit unknown');
  t.equal(defaultMaxConnections(1_048_576), 10_000);
  t.equal(defaultMaxConnections(1_024), 960);
  t.equal(defaultMaxConnections(256), 192, 'ulimit -n 256');
  t.equal(defaultMaxConnections(100), 50, 'a tiny limit: half of it');
  t.equal(defaultMaxConnections(1), 1);
});

t.test('the limit of this process is read on Linux', async (t) => {
  const limit = openFileLimit();
  if (process.platform !== 'linux') return t.equal(limit, undefined);
  t.type(limit, 'number');
  t.ok(limit! > 0);
});
