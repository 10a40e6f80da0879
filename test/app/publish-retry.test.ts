// The broker-wait settings without sockets: the publish retry policy (parser, Celery's form, the
// waits kombu's retry_over_time would make) and the start-up retry settings under Celery's names.
import t from 'tap';
import { fromCeleryConfig } from '../../client/app/celery-config.js';
import { DEFAULT_PUBLISH_RETRY_POLICY, offlineLimit, retryBudget, retryDelay, type PublishRetryPolicy } from '../../client/app/publish-retry.js';
import { resolveSettings } from '../../client/app/settings.js';
import { throwsInvalid } from './app-helpers.js';

const policy = (p: Partial<PublishRetryPolicy>): PublishRetryPolicy => ({ ...DEFAULT_PUBLISH_RETRY_POLICY, ...p });

t.test('defaults are Celery\'s: start-up retry on, 100 retries; publish retry on, 3 retries 0 / 0.2 / 0.4 s apart', async (t) => {
  const s = resolveSettings({});
  t.equal(s.brokerConnectionRetryOnStartup, true);
  t.equal(s.brokerConnectionMaxRetries, 100);
  t.equal(s.taskPublishRetry, true);
  t.strictSame(s.taskPublishRetryPolicy, { maxRetries: 3, intervalStart: 0, intervalStep: 200, intervalMax: 1_000 });
  t.strictSame([0, 1, 2].map((i) => retryDelay(s.taskPublishRetryPolicy, i)), [0, 200, 400]);
  t.equal(offlineLimit(s), 600, 'the producer holds a publish for the policy\'s waits');
  t.equal(offlineLimit(resolveSettings({ taskPublishRetry: false })), 0, 'no retry: no hold');
  t.equal(offlineLimit(resolveSettings({ taskPublishRetryPolicy: { maxRetries: null } })), null, 'retry for ever: hold for ever');
});

t.test('waits grow by intervalStep from intervalStart, the growth capped at intervalMax', async (t) => {
  const p = policy({ maxRetries: 6, intervalStart: 100, intervalStep: 300, intervalMax: 700 });
  t.strictSame([0, 1, 2, 3, 4, 5].map((i) => retryDelay(p, i)), [100, 400, 700, 800, 800, 800]);
  t.equal(retryBudget(p), 3_600);
  t.equal(retryBudget(policy({ maxRetries: 0 })), 0);
  t.equal(retryBudget(policy({ maxRetries: 1_000_000_000, intervalStep: 0, intervalStart: 2 })), 2_000_000_000, 'a constant wait, summed without a loop per retry');
  t.equal(retryBudget(policy({ maxRetries: 1_000_000_000 })), 2_000 + (1_000_000_000 - 5) * 1_000, 'capped waits summed at once');
});

t.test('the policy setting: fields default one by one, strangers and bad values named', async (t) => {
  t.strictSame(resolveSettings({ taskPublishRetryPolicy: { maxRetries: 5 } }).taskPublishRetryPolicy, { maxRetries: 5, intervalStart: 0, intervalStep: 200, intervalMax: 1_000 });
  throwsInvalid(t, () => resolveSettings({ taskPublishRetryPolicy: { maxRetry: 5 } as never }), /taskPublishRetryPolicy\.maxRetry is not a known field \(did you mean 'maxRetries'\?\)/);
  throwsInvalid(t, () => resolveSettings({ taskPublishRetryPolicy: { intervalStep: -1 } }), /setting taskPublishRetryPolicy\.intervalStep must be a number of milliseconds >= 0/);
  throwsInvalid(t, () => resolveSettings({ taskPublishRetryPolicy: 3 as never }), /setting taskPublishRetryPolicy must be an object/);
  throwsInvalid(t, () => resolveSettings({ brokerConnectionMaxRetries: -1 }), /setting brokerConnectionMaxRetries must be an integer >= 0/);
  t.equal(resolveSettings({ brokerConnectionMaxRetries: null }).brokerConnectionMaxRetries, null, 'null = for ever');
});

t.test('Celery\'s names and units: seconds to ms, None = for ever, env strings coerced', async (t) => {
  t.strictSame(fromCeleryConfig({ task_publish_retry_policy: { max_retries: null, interval_start: 0.5, interval_step: 1, interval_max: 2 } }),
    { taskPublishRetryPolicy: { maxRetries: null, intervalStart: 500, intervalStep: 1_000, intervalMax: 2_000 } });
  t.strictSame(fromCeleryConfig({ CELERY_TASK_PUBLISH_RETRY_POLICY: { max_retries: 1 } }).taskPublishRetryPolicy, policy({ maxRetries: 1 }));
  t.strictSame(fromCeleryConfig({ CELERY_PUBLISH_RETRY: 'false', BROKER_CONNECTION_MAX_RETRIES: '5', broker_connection_retry_on_startup: 'no' }),
    { taskPublishRetry: false, brokerConnectionMaxRetries: 5, brokerConnectionRetryOnStartup: false });
  // Celery: None retries for ever; 0 does not retry at all (retry_over_time raises on the first error).
  t.strictSame(fromCeleryConfig({ broker_connection_max_retries: null }), { brokerConnectionMaxRetries: null });
  t.strictSame(fromCeleryConfig({ CELERY_BROKER_CONNECTION_MAX_RETRIES: 0 }), { brokerConnectionMaxRetries: 0 });
});
