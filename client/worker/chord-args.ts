// A chord's callback runs with the results of its header, in header order. The broker counted
// the header's results (atomically with storing each) and published the callback when the last
// one landed; here the worker reads them back (one groupGet) and prepends them to the args.
import type { ResultBackend } from '../result-backend/result-backend.js';
import type { CompiledAccept } from '../../shared/messages/content-guard.js';
import { serializeError } from '../results/remote-error.js';
import { decodeRecord, errorOfMeta } from '../results/result-meta.js';
import type { SerializedError } from './pool-types.js';

/** The message header naming the group whose results a chord callback receives. */
export const CHORD_HEADER = 'celeriac_chord';
/** Set on an immutable chord body (si()): it still waits for the header, but is not given its results. */
export const CHORD_IMMUTABLE_HEADER = 'celeriac_chord_immutable';

/** The chord headers of a body's message: the group, and whether the body ignores the results. */
export function chordHeaders(groupId: string, immutable: boolean): Record<string, unknown> {
  return immutable ? { [CHORD_HEADER]: groupId, [CHORD_IMMUTABLE_HEADER]: true } : { [CHORD_HEADER]: groupId };
}

/** The header's results, or the first failure among them (the callback then fails with ERR_CHORD_FAILED). */
export type ChordArgs = { ok: true; results: unknown[] } | { ok: false; error: SerializedError };

export async function chordArgs(conn: ResultBackend, groupId: string, accept: CompiledAccept): Promise<ChordArgs> {
  try {
    return await readChordArgs(conn, groupId, accept);
  } catch (err) {
    // Never a rejection: the body was acked already (early acks), so it must end as a FAILURE.
    const cause = serializeError(err);
    return { ok: false, error: { name: 'ChordError', code: 'ERR_CHORD_FAILED', message: `the results of chord group ${groupId} could not be read: ${cause.message}`, stack: cause.stack } };
  }
}

async function readChordArgs(conn: ResultBackend, groupId: string, accept: CompiledAccept): Promise<ChordArgs> {
  const group = await conn.getGroup(groupId);
  if (group === null) {
    return { ok: false, error: { name: 'ChordError', code: 'ERR_CHORD_FAILED', message: `the results of chord group ${groupId} are gone (expired or never declared)`, stack: `ChordError: group ${groupId} unknown` } };
  }
  const results: unknown[] = [];
  for (let i = 0; i < group.members.length; i++) {
    const rec = group.results[i] ?? null;
    const member = group.members[i]!;
    if (rec === null) {
      return { ok: false, error: { name: 'ChordError', code: 'ERR_CHORD_FAILED', message: `the result of chord member ${member} is gone`, stack: `ChordError: member ${member} unknown` } };
    }
    const meta = decodeRecord(rec, accept);
    if (meta.status !== 'SUCCESS') {
      const cause = errorOfMeta(meta);
      const message = `dependency ${member} raised ${cause.name}('${cause.message}')`;
      return { ok: false, error: { name: 'ChordError', code: 'ERR_CHORD_FAILED', message, stack: `ChordError: ${message}\n--- caused by\n${cause.stack}` } };
    }
    results.push(meta.result);
  }
  return { ok: true, results };
}
