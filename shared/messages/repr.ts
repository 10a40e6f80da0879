// Short printable forms of task arguments for the argsrepr/kwargsrepr headers (logs, monitors).
// Never throws and stops walking once the budget is spent, so a huge argument costs little.

/** Celery's default `argsrepr_maxsize` / `kwargsrepr_maxsize`. */
export const DEFAULT_REPR_MAX_LENGTH = 1024;

const MAX_DEPTH = 8;

class Full extends Error {}

/**
 * A compact, JSON-like printable form of `value`, at most `maxLength` characters: longer output
 * is cut and ends with '...'. Bytes print as `<N bytes>`, Dates as ISO text, bigints with an
 * `n`, cycles as `[Circular]`, nesting past 8 levels as `[...]`/`{...}`.
 */
export function safeRepr(value: unknown, maxLength: number = DEFAULT_REPR_MAX_LENGTH): string {
  const limit = Math.max(3, Math.floor(maxLength));
  const parts: string[] = [];
  let length = 0;
  const push = (s: string): void => {
    parts.push(s);
    length += s.length;
    // Stop one character past the limit: enough to know the output must be cut.
    if (length > limit) throw new Full();
  };
  const seen = new Set<object>();
  const walk = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string':
        // Quote only what can still show: a 10 MB string is not copied whole.
        push(JSON.stringify(v.length > limit ? v.slice(0, limit) : v));
        return;
      case 'number': case 'boolean': push(String(v)); return;
      case 'bigint': push(`${v}n`); return;
      case 'undefined': push('undefined'); return;
      case 'symbol': push(v.toString()); return;
      case 'function': push(`[Function${v.name ? `: ${v.name}` : ''}]`); return;
    }
    if (v === null) { push('null'); return; }
    const obj = v as object;
    if (obj instanceof Date) { push(Number.isFinite(obj.getTime()) ? obj.toISOString() : 'Invalid Date'); return; }
    if (obj instanceof Uint8Array) { push(`<${obj.byteLength} bytes>`); return; }
    if (seen.has(obj)) { push('[Circular]'); return; }
    const isArray = Array.isArray(obj);
    if (depth >= MAX_DEPTH) { push(isArray ? '[...]' : '{...}'); return; }
    seen.add(obj);
    if (isArray) {
      push('[');
      (obj as unknown[]).forEach((item, i) => { if (i > 0) push(', '); walk(item, depth + 1); });
      push(']');
    } else {
      push('{');
      Object.keys(obj).forEach((key, i) => {
        if (i > 0) push(', ');
        push(`${JSON.stringify(key)}: `);
        walk((obj as Record<string, unknown>)[key], depth + 1);
      });
      push('}');
    }
    seen.delete(obj);
  };
  try {
    walk(value, 0);
  } catch (err) {
    // A getter that throws is the only other way out; its value is shown as unprintable.
    if (!(err instanceof Full)) return '<unprintable>';
  }
  const text = parts.join('');
  return text.length <= limit ? text : `${text.slice(0, limit - 3)}...`;
}
