// The dashboard in a real headless Chromium against a real broker and worker: workers and beat
// entries as the API has them, queue counts that follow the broker live, a purge through the UI
// checked through the API, the overview after it (the README's screenshot: with
// UPDATE_SCREENSHOTS=1 it is also written to docs/images/dashboard.png; opt-in, so an ordinary run
// leaves the checkout clean), a monitoring user without purge or delete buttons, Basic credentials
// opening the dashboard directly. Login, tasks and tracebacks: dashboard-tasks.test.ts.
import t from 'tap';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { api, queuePath } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { ADMIN, EYE, unique } from '../http/task-helpers.js';
import { dashboardEnv, launch, login, newPage, ROOT, SHOTS, textOf, WAIT_MS, type QueueJson } from './browser-helpers.js';

t.test('the dashboard in Chromium: workers, beat, live queue counts, purge, roles, Basic', async (t) => {
  const { broker, url, prefix, app } = await dashboardEnv(t);

  // A queue with messages and no consumer, for the purge.
  const conn = await connect(`ws://admin:adm1n@${broker.url.slice('ws://'.length)}`, { reconnect: false });
  t.teardown(() => conn.close());
  const full = unique('dash-q');
  await conn.assertQueue(full, { durable: true });
  for (let i = 0; i < 5; i++) await conn.sendToQueue(full, `m${i}`, { persistent: true });

  const browser = await launch(t);
  const admin = await newPage(browser);
  const page = admin.page;
  await login(page, url, 'admin', 'adm1n');

  // Workers: the worker, online, as the API has it.
  await page.goto(`${url}/#/workers`);
  const workerRow = page.locator(`#workers tr[data-worker="${prefix}@test"]`);
  await textOf(workerRow.locator('td').nth(1), (s) => s === 'online', 'the worker online');
  t.match((await api<{ hostname: string; online: boolean }[]>(broker, '/api/workers', { auth: ADMIN })).body, [{ hostname: `${prefix}@test`, online: true }]);

  // Beat: an entry of the schedule, in the API's words.
  const entry = unique('dash-every');
  await app.schedules.upsert(entry, { task: `${prefix}.add`, schedule: { minutes: 5 }, args: [1, 2] });
  const listed = (await api<{ entries: { name: string; schedule: string }[] }>(broker, '/api/beat', { auth: ADMIN })).body.entries.find((e) => e.name === entry);
  await page.goto(`${url}/#/beat`);
  const beatRow = page.locator(`#beat tr[data-entry="${entry}"]`);
  await textOf(beatRow.locator('[data-col=schedule]'), (s) => s === listed?.schedule, 'the schedule as the API words it');
  t.equal(await beatRow.locator('[data-col=task]').textContent(), `${prefix}.add`);

  // Queues: the counts are the API's, and they follow the broker live.
  await page.goto(`${url}/#/queues`);
  const row = page.locator(`#queues tr[data-queue="${full}"]`);
  await textOf(row.locator('[data-col=ready]'), (s) => s === '5', 'ready 5 as the API says');
  t.equal((await api<QueueJson>(broker, queuePath(full), { auth: ADMIN })).body.ready, 5);
  await page.evaluate('window.__sameDocument = true');
  await conn.sendToQueue(full, 'one more', { persistent: true });
  await textOf(row.locator('[data-col=ready]'), (s) => s === '6', 'ready 6, live');
  t.equal(await page.evaluate('window.__sameDocument'), true, 'no reload happened');
  await page.screenshot({ path: join(SHOTS, 'queues.png'), fullPage: true });

  // Purge through the UI, with its confirmation; the API then says the queue is empty.
  await row.locator('button[data-action=purge]').click();
  await page.locator('dialog[open] button[data-confirm]').click();
  await untilAsync(async () => (await api<QueueJson>(broker, queuePath(full), { auth: ADMIN })).body.ready === 0, WAIT_MS, 'the queue purged');
  await textOf(row.locator('[data-col=ready]'), (s) => s === '0', 'the row shows 0');

  // The overview once more, with its charts filled by now, for the screenshots.
  await page.goto(`${url}/#/overview`);
  await page.locator('svg.chart polyline').first().waitFor();
  await textOf(page.locator('[data-card=ready] .value'), (s) => s === '0', 'the next overview tick shows the purge');
  await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
    copyFileSync(join(SHOTS, 'overview.png'), join(ROOT, 'docs', 'images', 'dashboard.png'));
  }
  t.same(admin.errors, [], 'no script errors, nothing refused by the CSP');

  // A monitoring user logs in too, and sees no purge or delete button.
  const eye = await newPage(browser);
  await login(eye.page, url, 'eye', 'w4tch');
  await eye.page.goto(`${url}/#/queues`);
  await eye.page.locator(`#queues tr[data-queue="${full}"]`).waitFor();
  t.equal(await eye.page.locator('button[data-action]').count(), 0, 'no purge or delete button');
  t.same(eye.errors, []);

  // Basic credentials open the dashboard directly, as for scripts (sent unasked: the root answers
  // the login page, not a challenge, to a browser that sends none).
  const scripted = await newPage(browser, { extraHTTPHeaders: { authorization: EYE } });
  await scripted.page.goto(`${url}/`);
  await textOf(scripted.page.locator('#me'), (s) => s.startsWith('eye'), 'the dashboard with Basic credentials');
  t.equal(await scripted.page.locator('form#login').count(), 0, 'no login page');
  t.equal(await scripted.page.locator('#logout').isVisible(), false, 'nothing to log out of');
});
