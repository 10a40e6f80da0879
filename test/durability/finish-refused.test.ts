// A late-acked task whose delivery the broker took back (ack timeout) while the worker could not
// hear about it: its finish names a tag the broker no longer holds and is refused. The worker takes
// that as "delivery lost" — nothing stored, the redelivered copy runs and owns the result — not as
// an error, and never reports the refused run as succeeded.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from '../../client/index.js';
import { startWorker, uniqueQueue, waitForOutput } from '../cli/celeriac-helpers.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

t.test('a finish refused for an unknown delivery tag is a lost delivery, not an error', async (t) => {
  const brokerLog: string[] = [];
  const broker = await startTestBroker(t, { defaultConsumerTimeout: 300, log: (_level, msg) => brokerLog.push(msg) });
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-refused-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const flag = join(dir, 'go');
  const q = uniqueQueue('refused');
  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());

  const w = await startWorker(t, ['-A', './record-tasks.mjs', '--broker', broker.url, '-Q', q, '-c', '1']);
  const r = await app.sendTask('record.hold', [flag], { queue: q });
  await waitForOutput(w, 'stderr', new RegExp(`\\[${r.id}\\] received`), 'the worker to receive the task');
  // The task holds the worker's event loop, so the cancel the broker sends is not read; once the
  // broker has taken the delivery back, the task returns and its finish goes out with the old tag.
  await until(() => brokerLog.some((l) => l.includes(`on queue '${q}' held delivery`)), 10_000, 'the broker to take the delivery back');
  writeFileSync(flag, '');

  t.equal(await r.get({ timeout: 20_000 }), 'again', 'the redelivered copy ran and its result is the one stored');
  await waitForOutput(w, 'stderr', new RegExp(`\\[${r.id}\\]: delivery lost: the broker refused its finish`), 'the refusal to be reported as a lost delivery');
  await waitForOutput(w, 'stderr', new RegExp(`\\[${r.id}\\] succeeded`), 'the redelivered run to be reported');
  t.notMatch(w.stderr(), /could not be finished/, 'not as an error');
  t.equal(w.stderr().split(`[${r.id}] succeeded`).length - 1, 1, 'only the redelivered run is reported as succeeded');
});
