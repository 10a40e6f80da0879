// The task index: per task id, a slim entry in memory (state, name, worker, when first and last
// seen, the ids of its events), kept from a few top-level fields of each task event. Nothing is
// written per task: the entries are rebuilt at start from the stored events (bounded by the
// log's retention), and what the API shows of a task (arguments, result, traceback, times) is
// built when it is read, from that task's stored events, with Celery's merge rules.
import { fail } from '../../shared/errors.js';
import type { StoredEvent } from '../store/store.js';
import type { TaskInfo, TasksQuery } from './events-api.js';
import { applyTaskEvent, MAX_TIMELINE_EVENTS, newTaskEntry, setsState, taskEventState } from './task-events.js';

/** Tasks a query returns by default, and at most. */
const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 1_000;

/** What the index keeps of a task: what listings filter and sort on, and where its events are. */
interface TaskSlot {
  readonly vhost: string;
  readonly id: string;
  state: string;
  name: string | null;
  worker: string | null;
  readonly firstEventId: number;
  readonly firstSeen: number;
  lastEventId: number;
  lastSeen: number;
  /** Ids of its events, oldest first (at most MAX_TIMELINE_EVENTS). */
  readonly events: number[];
  /** Left the index with retention (still in `order` until it is compacted). */
  dropped: boolean;
}

/** The top-level fields of a task event the index keeps (null when absent or not a string). */
export interface TaskEventFields {
  hostname: string | null;
  name: string | null;
}

/** The key of a task: its id in the default vhost (the common case, no string built), else vhost + NUL + id. */
function keyOf(vhost: string, taskId: string): string {
  return vhost === '/' ? taskId : `${vhost}\u0000${taskId}`;
}

function optionalText(q: Record<string, unknown>, key: string): string | null {
  const v = q[key];
  if (v === undefined) return null;
  if (typeof v !== 'string' || v.length > 255) throw fail('ERR_INVALID_ARGUMENT', `tasks query: ${key} must be a string of at most 255 characters`);
  return v;
}

function optionalCount(q: Record<string, unknown>, key: string, max = Number.MAX_SAFE_INTEGER): number | null {
  const v = q[key];
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw fail('ERR_INVALID_ARGUMENT', `tasks query: ${key} must be an integer from 0 to ${max}`);
  return v;
}

/** What the task index needs: the stored events of these ids still kept, in id order (committed ones). */
export interface TaskIndexDeps {
  loadEvents: (ids: readonly number[]) => StoredEvent[];
  /** The body of a stored event as a JSON object, or null. */
  parse: (body: Uint8Array) => Record<string, unknown> | null;
}

/** A task as the API shows it, and the stored events it was built from. */
export interface BuiltTask {
  info: TaskInfo;
  events: StoredEvent[];
}

export class TaskIndex {
  private readonly slots = new Map<string, TaskSlot>();
  /** Every slot in the order of its first event id (the order they were created in), dropped ones until compacted. */
  private order: TaskSlot[] = [];
  private droppedInOrder = 0;
  /** Slots before this index in `order` are all dropped (retention takes the oldest first). */
  private head = 0;

  constructor(private readonly deps: TaskIndexDeps) {}

  /** Tasks the index holds. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * A task event was stored as `eventId` at broker time `at`. An event at or below the task's
   * latest applied id was applied already and changes nothing. The state follows Celery's rule
   * (setsState); the worker is the sender of any event but task-sent (the producer's).
   */
  onEvent(vhost: string, taskId: string, type: string, fields: TaskEventFields, eventId: number, at: number): void {
    const key = keyOf(vhost, taskId);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { vhost, id: taskId, state: 'PENDING', name: null, worker: null, firstEventId: eventId, firstSeen: at, lastEventId: eventId, lastSeen: at, events: [], dropped: false };
      this.slots.set(key, slot);
      this.order.push(slot);
    } else if (eventId <= slot.lastEventId) return;
    const state = taskEventState(type);
    if (setsState(slot.state, state)) slot.state = state;
    if (type !== 'task-sent' && fields.hostname !== null) slot.worker = fields.hostname;
    if (fields.name !== null) slot.name = fields.name;
    slot.lastEventId = eventId;
    slot.lastSeen = at;
    slot.events.push(eventId);
    if (slot.events.length > MAX_TIMELINE_EVENTS) slot.events.splice(0, slot.events.length - MAX_TIMELINE_EVENTS);
  }

  /** The task with the stored events it was built from, or null when the index does not hold it. */
  get(vhost: string, taskId: string): BuiltTask | null {
    const slot = this.slots.get(keyOf(vhost, taskId));
    if (slot === undefined) return null;
    const events = this.deps.loadEvents(slot.events);
    return { info: this.build(slot, events), events };
  }

  /**
   * The task as the API shows it, merged from its events as Celery's State merges them. The
   * listing fields (state, name, worker, latest event) are the slot's, so a task reads as it was
   * listed even when retention already took some of its events.
   */
  private build(slot: TaskSlot, events: readonly StoredEvent[]): TaskInfo {
    const entry = newTaskEntry(slot.vhost, slot.id, slot.firstEventId, slot.firstSeen);
    for (const e of events) {
      const data = this.deps.parse(e.body);
      if (data !== null) applyTaskEvent(entry, e.type, data, e.id, e.at);
    }
    const { events: _ids, ...info } = entry;
    info.state = slot.state;
    info.name = slot.name;
    info.worker = slot.worker;
    info.lastEventId = slot.lastEventId;
    info.lastSeen = slot.lastSeen;
    return info;
  }

  /** A page of tasks, newest first (by first event id); the cursor is the last one's first event id. */
  query(raw: TasksQuery = {}): { tasks: TaskInfo[]; cursor: number | null } {
    if (raw === null || typeof raw !== 'object') throw fail('ERR_INVALID_ARGUMENT', 'tasks query: must be an object');
    const q = raw as Record<string, unknown>;
    const limit = optionalCount(q, 'limit', MAX_QUERY_LIMIT) ?? DEFAULT_QUERY_LIMIT;
    const vhost = optionalText(q, 'vhost');
    const state = optionalText(q, 'state');
    const name = optionalText(q, 'name');
    const worker = optionalText(q, 'worker');
    const rawSearch = optionalText(q, 'search');
    const search = rawSearch === null || rawSearch === '' ? null : rawSearch.toLowerCase();
    const from = optionalCount(q, 'from');
    const to = optionalCount(q, 'to');
    const before = optionalCount(q, 'cursor');
    const found: TaskSlot[] = [];
    if (limit > 0) {
      for (let i = this.startBefore(before); i >= this.head && found.length < limit; i--) {
        const s = this.order[i]!;
        if (s.dropped || (vhost !== null && s.vhost !== vhost) || (state !== null && s.state !== state)) continue;
        if ((name !== null && s.name !== name) || (worker !== null && s.worker !== worker)) continue;
        if ((from !== null && s.firstSeen < from) || (to !== null && s.firstSeen >= to)) continue;
        if (search !== null && !s.id.toLowerCase().startsWith(search) && !(s.name !== null && s.name.toLowerCase().includes(search))) continue;
        found.push(s);
      }
    }
    // One read of the stored events for the whole page, handed out per task.
    const byId = new Map<number, StoredEvent>();
    for (const e of this.deps.loadEvents(found.flatMap((s) => s.events).sort((a, b) => a - b))) byId.set(e.id, e);
    const tasks = found.map((s) => this.build(s, s.events.flatMap((id) => byId.get(id) ?? [])));
    return { tasks, cursor: found.length === limit && limit > 0 ? found[found.length - 1]!.firstEventId : null };
  }

  /** The index in `order` of the newest slot with a first event id below `before` (all when null); -1 when none. */
  private startBefore(before: number | null): number {
    if (before === null) return this.order.length - 1;
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]!.firstEventId < before) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * Retention deleted every event at or below `upTo`: the tasks whose latest event was among them
   * go. Only slots first seen at or below `upTo` can be such tasks, and they lead `order`.
   */
  pruned(upTo: number): void {
    for (let i = this.head; i < this.order.length; i++) {
      const s = this.order[i]!;
      if (s.firstEventId > upTo) break;
      if (s.dropped || s.lastEventId > upTo) continue;
      s.dropped = true;
      this.droppedInOrder++;
      this.slots.delete(keyOf(s.vhost, s.id));
    }
    while (this.head < this.order.length && this.order[this.head]!.dropped) this.head++;
    // Compacted once dropped slots are the bigger part, so a query's walk and this loop stay short.
    if (this.droppedInOrder * 2 > this.order.length) {
      this.order = this.order.filter((s) => !s.dropped);
      this.droppedInOrder = 0;
      this.head = 0;
    }
  }
}
