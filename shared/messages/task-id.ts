// Task ids: UUIDs in the version 7 layout (RFC 9562): the first 48 bits are the time in ms, the
// rest random. Any UUID string is a valid Celery task id; time-ordered ones land at the end of the
// broker's result index instead of at random pages, so storing results dirties far fewer pages.
import { randomUUID } from 'node:crypto';

/** A new time-ordered UUID (version 7). */
export function newTaskId(now: number = Date.now()): string {
  const rand = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keeps its random bits and variant
  const ts = now.toString(16).padStart(12, '0').slice(-12);
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${rand.slice(15)}`;
}
