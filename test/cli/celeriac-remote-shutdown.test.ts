// A remote shutdown from the control API ends a `celeriac worker` child process cleanly (apart from
// celeriac-control.test.ts so that neither file runs long on a busy machine).
import t from 'tap';
import { Celeriac } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { finished, startWorker, uniqueQueue } from './celeriac-helpers.js';

t.test('a remote shutdown (app.control.shutdown) ends the worker process with exit 0', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-remote-stop');
  const worker = await startWorker(t, ['-A', './tasks.mjs', '--broker', broker.url, '-Q', q]);
  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());
  const replies = await app.control.shutdown({ timeout: 2000, limit: 1 });
  t.equal(replies.length, 1, 'the worker heard it');
  const done = await finished(worker);
  t.equal(done.code, 0);
});
