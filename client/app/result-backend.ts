// The resultBackend setting. Results are kept by the broker and a worker writes them through its
// broker connection, so the only backend that works is the broker itself: resultBackend may be
// unset, Celery's 'rpc://' ("through the broker") or the broker's URL in any spelling. Anything
// else is refused at startup instead of losing every result (a separate backend is future work).
import { fail } from '../../shared/errors.js';
import { parseBrokerUrl } from '../url.js';
import { checkResultBackendScheme, checkResultsKept } from './backend-schemes.js';
import { brokerUrl, invalid, type Parser } from './setting-parsers.js';

/** Celery's names for "results travel through the broker". */
const THROUGH_BROKER: ReadonlySet<string> = new Set(['rpc://', 'rpc']);

const EXPECTED = "unset, 'rpc://' or the broker's URL (results are kept by the broker; a separate result backend is not supported yet)";

/** Parses resultBackend alone: 'rpc://' or a ws:// / wss:// URL; whether it is the broker is checked by resolveResultBackend(). */
export const resultBackendUrl: Parser<string> = (value, label) => {
  if (typeof value === 'string' && THROUGH_BROKER.has(value)) return value;
  if (typeof value === 'string') checkResultBackendScheme(value, label);
  if (typeof value !== 'string' || !/^wss?:\/\//i.test(value)) throw invalid(label, EXPECTED, typeof value === 'string' ? mask(value) : value);
  return brokerUrl(value, label);
};

/** True when both URLs reach the same broker as the same user and vhost (trailing slash, host case and default port do not matter). */
export function sameBroker(a: string, b: string): boolean {
  const x = parseBrokerUrl(a);
  const y = parseBrokerUrl(b);
  return x.wsUrl === y.wsUrl && x.user === y.user && x.password === y.password && x.vhost === y.vhost;
}

/**
 * The resolved resultBackend: always the broker URL. Throws ERR_INVALID_ARGUMENT when the given
 * one (already parsed) names anything but the broker.
 */
export function resolveResultBackend(broker: string, given: string | null): string {
  checkResultsKept(broker, given, given === null ? 'broker' : 'resultBackend');
  if (given === null || THROUGH_BROKER.has(given) || sameBroker(given, broker)) return broker;
  throw fail('ERR_INVALID_ARGUMENT', `setting resultBackend must be ${EXPECTED}; got '${mask(given)}', but the broker is '${mask(broker)}'`, { setting: 'resultBackend' });
}

/** The URL with its password hidden, for error messages. */
function mask(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
