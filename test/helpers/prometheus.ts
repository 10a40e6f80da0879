// Reads a Prometheus text exposition (format 0.0.4) strictly, as a scraper would: every sample under
// its family's HELP and TYPE, each TYPE once, valid names, labels and numbers; and fetches /metrics.
// NaN in any case: Prometheus reads floats with Go's ParseFloat, and prom-client writes 'Nan'.
import type { Test } from 'tap';
import type { Broker } from '../../server/index.js';
import { GUEST } from './http.js';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*",?)*\\})? (-?(?:\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?|[Nn][Aa][Nn]|[+-]Inf))$`);
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

/** The exposition's samples as `name{labels}` -> value, and each family's TYPE. */
export interface Exposition {
  samples: Map<string, number>;
  types: Map<string, string>;
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` belong to the histogram. */
function familyOf(sample: string, types: ReadonlyMap<string, string>): string {
  if (types.has(sample)) return sample;
  for (const suffix of HISTOGRAM_SUFFIXES) {
    const base = sample.slice(0, -suffix.length);
    if (sample.endsWith(suffix) && (types.get(base) === 'histogram' || types.get(base) === 'summary')) return base;
  }
  return sample;
}

/** Checks the format (failing `t` on each fault) and returns the samples. */
export function parseExposition(t: Test, text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const helped = new Set<string>();
  t.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.split('\n').filter((l) => l !== '')) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) \\S.*$`).exec(line))) { helped.add(m[1]!); continue; }
    if ((m = new RegExp(`^# TYPE (${NAME}) (gauge|counter|histogram|summary)$`).exec(line))) {
      if (types.has(m[1]!)) t.fail(`TYPE of ${m[1]} given twice`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = SAMPLE.exec(line);
    if (!m) { t.fail(`not a valid sample line: ${JSON.stringify(line)}`); continue; }
    const family = familyOf(m[1]!, types);
    if (!types.has(family) || !helped.has(family)) t.fail(`${m[1]} has a sample before its HELP and TYPE`);
    if (types.get(family) === 'counter' && !family.endsWith('_total')) t.fail(`counter ${family} should end in _total`);
    const key = `${m[1]}${m[2] ?? ''}`;
    if (samples.has(key)) t.fail(`sample ${key} given twice`);
    samples.set(key, Number(m[3]));
  }
  return { samples, types };
}

/** GET /metrics as the guest administrator: its content type and text. */
export async function scrape(broker: Pick<Broker, 'httpUrl'>, timeoutMs = 10_000): Promise<{ type: string; text: string }> {
  const res = await fetch(`${broker.httpUrl}/metrics`, { headers: { authorization: GUEST }, signal: AbortSignal.timeout(timeoutMs) });
  return { type: res.headers.get('content-type') ?? '', text: await res.text() };
}
