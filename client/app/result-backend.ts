// The resultBackend setting: where results are kept. Unset, Celery's 'rpc://' ("through the
// broker") or the broker's own URL mean the broker (broker-server keeps them); a redis:// or
// rediss:// URL is the Redis result backend, paired with any broker. Anything else is refused at
// startup instead of losing every result.
import { fail } from '../../shared/errors.js';
import { parseRedisUrl } from '../result-backend/redis/url.js';
import { parseBrokerUrl } from '../url.js';
import { checkResultBackendScheme, checkResultsKept, masked, resultBackendOf } from './backend-schemes.js';
import { brokerUrl, invalid, type Parser } from './setting-parsers.js';

/** Celery's names for "results travel through the broker". */
const THROUGH_BROKER: ReadonlySet<string> = new Set(['rpc://', 'rpc']);

const EXPECTED = "unset, 'rpc://' or the broker's URL (the broker keeps results), or a redis:// / rediss:// URL (Redis keeps them)";

/** Parses resultBackend alone: 'rpc://', a ws:// / wss:// URL (whether it is the broker is checked by resolveResultBackend()) or a Redis URL. */
export const resultBackendUrl: Parser<string> = (value, label) => {
  if (typeof value === 'string' && THROUGH_BROKER.has(value)) return value;
  if (typeof value === 'string') checkResultBackendScheme(value, label);
  if (typeof value === 'string' && resultBackendOf(value) === 'redis') {
    parseRedisUrl(value, label);
    return value;
  }
  if (typeof value !== 'string' || !/^wss?:\/\//i.test(value)) throw invalid(label, EXPECTED, typeof value === 'string' ? masked(value) : value);
  return brokerUrl(value, label);
};

/** True when both URLs reach the same broker as the same user and vhost (trailing slash, host case and default port do not matter). */
export function sameBroker(a: string, b: string): boolean {
  const x = parseBrokerUrl(a);
  const y = parseBrokerUrl(b);
  return x.wsUrl === y.wsUrl && x.user === y.user && x.password === y.password && x.vhost === y.vhost;
}

/**
 * The resolved resultBackend: a Redis URL as given, else the broker URL. Throws
 * ERR_TRANSPORT_UNAVAILABLE for a broker that keeps no results without a Redis URL, and
 * ERR_INVALID_ARGUMENT when the given one (already parsed) names another broker-server.
 */
export function resolveResultBackend(broker: string, given: string | null): string {
  checkResultsKept(broker, given, given === null ? 'broker' : 'resultBackend');
  if (given !== null && resultBackendOf(given) === 'redis') return given;
  if (given === null || THROUGH_BROKER.has(given) || sameBroker(given, broker)) return broker;
  throw fail('ERR_INVALID_ARGUMENT', `setting resultBackend must be ${EXPECTED}; got '${masked(given)}', but the broker is '${masked(broker)}'`, { setting: 'resultBackend' });
}
