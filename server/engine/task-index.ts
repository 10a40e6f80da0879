// The task index: per task id, a slim entry in memory (state, name, worker, when first and last
// seen, the ids of its events), kept from a few top-level fields of each task event. Nothing is
// written per task: the entries are rebuilt at start from the stored events (bounded by the
// log's retention), and what the API shows of a task (arguments, result, traceback, times) is
// built when it is read, from that task's stored events, with Celery's merge rules.
//
// Entries are columns of typed arrays, not objects, and task ids are bytes in one arena, found
// by a hash table of their own: a task held costs the garbage collector nothing, which matters
// when the index holds the log's 100,000 events' tasks and gains three events per task run.
import { fail } from '../../shared/errors.js';
import type { StoredEvent } from '../store/store.js';
import { hashBytes } from './byte-interner.js';
import type { TaskInfo, TasksQuery } from './events-api.js';
import { statePrecedence } from '../../shared/task-states.js';
import { applyTaskEvent, MAX_TIMELINE_EVENTS, newTaskEntry, taskEventState } from './task-events.js';

/** Tasks a query returns by default, and at most. */
const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 1_000;
/** Event ids kept in a slot's own columns; a task with more (retries) keeps them in an array. */
const INLINE_EVENTS = 4;
/** eventCount of a slot whose ids are in `overflow`. */
const OVERFLOWED = -1;
const INITIAL_SLOTS = 1024;
/** Hash table entries: 0 empty, TOMBSTONE a removed task, else its slot + 1. */
const TOMBSTONE = -1;
/** No name or worker. */
const NONE = -1;
/** Strings a code table may hold before it is rebuilt from the tasks held, when it holds twice as many as there are tasks. */
const MIN_CODES_BEFORE_RECODE = 1024;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Task ids longer than this (in UTF-8 bytes) are not indexed (events.md). */
export const MAX_TASK_ID_BYTES = 255;

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

/** Strings by a small number: states, names, workers and vhosts are few and repeat across tasks. */
class StringCodes {
  private readonly codes = new Map<string, number>();
  readonly strings: string[] = [];
  // The string coded last: events come in runs of one worker's, one task name's.
  private last: string | null = null;
  private lastCode = 0;

  code(s: string): number {
    if (s === this.last) return this.lastCode;
    let c = this.codes.get(s);
    if (c === undefined) {
      c = this.strings.length;
      this.strings.push(s);
      this.codes.set(s, c);
    }
    this.last = s;
    this.lastCode = c;
    return c;
  }

  /** The code of `s` when it has one, else -2 (matches nothing). */
  find(s: string): number {
    return this.codes.get(s) ?? -2;
  }

  clear(): void {
    this.codes.clear();
    this.strings.length = 0;
    this.last = null;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
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
  // Slots, in the order of their first event id (the order they were created in); slot i's fields
  // are the i-th entries of these columns. Slots before `head` are all dropped.
  private capacity = INITIAL_SLOTS;
  private used = 0;
  private head = 0;
  private live = 0;
  private vhost = new Int32Array(INITIAL_SLOTS);
  private state = new Int32Array(INITIAL_SLOTS);
  private name = new Int32Array(INITIAL_SLOTS);
  private worker = new Int32Array(INITIAL_SLOTS);
  private firstEventId = new Float64Array(INITIAL_SLOTS);
  private lastEventId = new Float64Array(INITIAL_SLOTS);
  private firstSeen = new Float64Array(INITIAL_SLOTS);
  private lastSeen = new Float64Array(INITIAL_SLOTS);
  private idStart = new Int32Array(INITIAL_SLOTS);
  private idLength = new Int32Array(INITIAL_SLOTS);
  /** Event ids held in `eventIds` (up to INLINE_EVENTS), or OVERFLOWED. */
  private eventCount = new Int32Array(INITIAL_SLOTS);
  private eventIds = new Float64Array(INITIAL_SLOTS * INLINE_EVENTS);
  private dropped = new Uint8Array(INITIAL_SLOTS);
  private droppedCount = 0;
  /** Ids of the events of a task with more than INLINE_EVENTS, by slot. */
  private overflow = new Map<number, number[]>();
  /** The task ids' bytes, slot after slot. */
  private arena = new Uint8Array(INITIAL_SLOTS * 40);
  private arenaTop = 0;
  /** Open addressing on (vhost, task id bytes), linear probing; its size a power of two. */
  private table = new Int32Array(INITIAL_SLOTS * 4);
  private tableFilled = 0;
  private readonly vhosts = new StringCodes();
  private readonly states = new StringCodes();
  private readonly names = new StringCodes();
  private readonly workers = new StringCodes();
  /** The state code of each event type seen (Celery's map, or task-x's own state X). */
  private readonly stateOfType = new Map<string, number>();
  /** Per state code, its precedence (a higher number happened earlier); -1 for RETRY, which always moves on. */
  private readonly precedence: number[] = [];
  private readonly scratch = new Uint8Array(MAX_TASK_ID_BYTES * 3);

  constructor(private readonly deps: TaskIndexDeps) {}

  /** Tasks the index holds. */
  get size(): number {
    return this.live;
  }

  /** Strings held in the name, worker and state code tables: bounded by the tasks held (see recode()). */
  get codeCount(): number {
    return this.names.strings.length + this.workers.strings.length + this.states.strings.length;
  }

  /**
   * A task event was stored as `eventId` at broker time `at`; its task id is bytes [idStart,
   * idEnd) of `body` (at most MAX_TASK_ID_BYTES, no NUL). An event at or below the task's latest
   * applied id was applied already and changes nothing. The state follows Celery's rule
   * (setsState); the worker is the sender of any event but task-sent (the producer's).
   */
  onEventBytes(vhost: string, body: Uint8Array, idStart: number, idEnd: number, type: string, hostname: string | null, name: string | null, eventId: number, at: number): void {
    const vhostCode = this.vhosts.code(vhost);
    const hash = (hashBytes(body, idStart, idEnd) ^ Math.imul(vhostCode, 0x9e3779b1)) & 0x3fffffff;
    let slot = this.find(vhostCode, body, idStart, idEnd, hash);
    if (slot < 0) {
      slot = this.create(vhostCode, body, idStart, idEnd, hash, eventId, at);
    } else if (eventId <= this.lastEventId[slot]!) return;
    let stateCode = this.stateOfType.get(type);
    if (stateCode === undefined) {
      stateCode = this.stateCode(taskEventState(type));
      this.stateOfType.set(type, stateCode);
    }
    // Celery's rule (task-events.ts setsState), by codes.
    const current = this.state[slot]!;
    const next = this.precedence[stateCode]!;
    const now = this.precedence[current]!;
    if (current !== stateCode && (next < 0 || now < 0 || next <= now)) this.state[slot] = stateCode;
    if (type !== 'task-sent' && hostname !== null) this.worker[slot] = this.workers.code(hostname);
    if (name !== null) this.name[slot] = this.names.code(name);
    this.lastEventId[slot] = eventId;
    this.lastSeen[slot] = at;
    this.addEventId(slot, eventId);
    // A sender of ever new names, workers or task-x types must not grow the code tables past the tasks held.
    const codes = Math.max(this.names.strings.length, this.workers.strings.length, this.states.strings.length);
    if (codes > MIN_CODES_BEFORE_RECODE && codes > 2 * this.live) this.recode();
  }

  /** The same, with the task id as a string (events the scan left to a parse). */
  onEvent(vhost: string, taskId: string, type: string, hostname: string | null, name: string | null, eventId: number, at: number): void {
    const { written } = utf8.encodeInto(taskId, this.scratch);
    if (written === 0 || written > MAX_TASK_ID_BYTES || taskId.includes('\u0000')) return;
    this.onEventBytes(vhost, this.scratch, 0, written, type, hostname, name, eventId, at);
  }

  /** The task with the stored events it was built from, or null when the index does not hold it. */
  get(vhost: string, taskId: string): BuiltTask | null {
    const slot = this.slotOf(vhost, taskId);
    if (slot < 0) return null;
    const events = this.deps.loadEvents(this.eventsOf(slot));
    return { info: this.build(slot, events), events };
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
    const vhostCode = vhost === null ? null : this.vhosts.find(vhost);
    const stateCode = state === null ? null : this.states.find(state);
    const nameCode = name === null ? null : this.names.find(name);
    const workerCode = worker === null ? null : this.workers.find(worker);
    // Whether each name matches the search, worked out once per name.
    const nameMatches = search === null ? null : this.names.strings.map((n) => n.toLowerCase().includes(search));
    const found: number[] = [];
    if (limit > 0) {
      for (let i = this.startBefore(before); i >= this.head && found.length < limit; i--) {
        if (this.dropped[i] === 1 || (vhostCode !== null && this.vhost[i] !== vhostCode) || (stateCode !== null && this.state[i] !== stateCode)) continue;
        if ((nameCode !== null && this.name[i] !== nameCode) || (workerCode !== null && this.worker[i] !== workerCode)) continue;
        if ((from !== null && this.firstSeen[i]! < from) || (to !== null && this.firstSeen[i]! >= to)) continue;
        if (search !== null && !this.idOf(i).toLowerCase().startsWith(search) && !(this.name[i] !== NONE && nameMatches![this.name[i]!] === true)) continue;
        found.push(i);
      }
    }
    // One read of the stored events for the whole page, handed out per task.
    const byId = new Map<number, StoredEvent>();
    for (const e of this.deps.loadEvents(found.flatMap((s) => this.eventsOf(s)).sort((a, b) => a - b))) byId.set(e.id, e);
    const tasks = found.map((s) => this.build(s, this.eventsOf(s).flatMap((id) => byId.get(id) ?? [])));
    return { tasks, cursor: found.length === limit && limit > 0 ? this.firstEventId[found[found.length - 1]!]! : null };
  }

  /**
   * Retention deleted every event at or below `upTo`: the tasks whose latest event was among them
   * go. Only slots first seen at or below `upTo` can be such tasks, and they lead the slots.
   */
  pruned(upTo: number): void {
    for (let i = this.head; i < this.used; i++) {
      if (this.firstEventId[i]! > upTo) break;
      if (this.dropped[i] === 1 || this.lastEventId[i]! > upTo) continue;
      this.drop(i);
    }
    while (this.head < this.used && this.dropped[this.head] === 1) this.head++;
    // Compacted once dropped slots are the bigger part, so a query's walk and this loop stay short.
    if (this.droppedCount * 2 > this.used && this.used >= INITIAL_SLOTS) this.compact();
  }

  /** The slot of a task, or -1. */
  private slotOf(vhost: string, taskId: string): number {
    const vhostCode = this.vhosts.find(vhost);
    if (vhostCode < 0) return -1;
    const { written } = utf8.encodeInto(taskId, this.scratch);
    if (written === 0 || written > MAX_TASK_ID_BYTES) return -1;
    const hash = (hashBytes(this.scratch, 0, written) ^ Math.imul(vhostCode, 0x9e3779b1)) & 0x3fffffff;
    return this.find(vhostCode, this.scratch, 0, written, hash);
  }

  /** The slot of task id bytes [start, end) of `b` in a vhost, or -1. */
  private find(vhostCode: number, b: Uint8Array, start: number, end: number, hash: number): number {
    const table = this.table;
    const mask = table.length - 1;
    const n = end - start;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = table[i]!;
      if (entry === 0) return -1;
      if (entry === TOMBSTONE) continue;
      const slot = entry - 1;
      if (this.idLength[slot] !== n || this.vhost[slot] !== vhostCode) continue;
      const at = this.idStart[slot]!;
      const arena = this.arena;
      let k = 0;
      while (k < n && arena[at + k] === b[start + k]) k++;
      if (k === n) return slot;
    }
  }

  private create(vhostCode: number, b: Uint8Array, start: number, end: number, hash: number, eventId: number, at: number): number {
    if (this.used === this.capacity) this.growSlots();
    const n = end - start;
    if (this.arenaTop + n > this.arena.length) this.arena = grown(this.arena, Math.max(this.arena.length * 2, this.arenaTop + n));
    const slot = this.used++;
    this.live++;
    // A loop, not set(subarray): ids are short, and a subarray is an object to collect.
    const arena = this.arena;
    const top = this.arenaTop;
    for (let k = 0; k < n; k++) arena[top + k] = b[start + k]!;
    this.idStart[slot] = this.arenaTop;
    this.idLength[slot] = n;
    this.arenaTop += n;
    this.vhost[slot] = vhostCode;
    this.state[slot] = this.stateCode('PENDING');
    this.name[slot] = NONE;
    this.worker[slot] = NONE;
    this.firstEventId[slot] = eventId;
    this.firstSeen[slot] = at;
    this.lastEventId[slot] = eventId;
    this.lastSeen[slot] = at;
    this.eventCount[slot] = 0;
    this.dropped[slot] = 0;
    this.insert(slot, hash);
    return slot;
  }

  private insert(slot: number, hash: number): void {
    if ((this.tableFilled + 1) * 2 > this.table.length) this.rehash(this.live * 4 > this.table.length ? this.table.length * 2 : this.table.length);
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
    this.tableFilled++;
  }

  /** A fresh table of `size` entries holding the live slots (tombstones gone). */
  private rehash(size: number): void {
    this.table = new Int32Array(size);
    this.tableFilled = 0;
    const mask = size - 1;
    for (let s = this.head; s < this.used; s++) {
      if (this.dropped[s] === 1) continue;
      let i = this.hashOfSlot(s) & mask;
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = s + 1;
      this.tableFilled++;
    }
  }

  private hashOfSlot(slot: number): number {
    const at = this.idStart[slot]!;
    return (hashBytes(this.arena, at, at + this.idLength[slot]!) ^ Math.imul(this.vhost[slot]!, 0x9e3779b1)) & 0x3fffffff;
  }

  private growSlots(): void {
    const n = this.capacity * 2;
    this.capacity = n;
    this.vhost = grown(this.vhost, n);
    this.state = grown(this.state, n);
    this.name = grown(this.name, n);
    this.worker = grown(this.worker, n);
    this.firstEventId = grown(this.firstEventId, n);
    this.lastEventId = grown(this.lastEventId, n);
    this.firstSeen = grown(this.firstSeen, n);
    this.lastSeen = grown(this.lastSeen, n);
    this.idStart = grown(this.idStart, n);
    this.idLength = grown(this.idLength, n);
    this.eventCount = grown(this.eventCount, n);
    this.eventIds = grown(this.eventIds, n * INLINE_EVENTS);
    this.dropped = grown(this.dropped, n);
  }

  private addEventId(slot: number, eventId: number): void {
    const count = this.eventCount[slot]!;
    if (count >= 0 && count < INLINE_EVENTS) {
      this.eventIds[slot * INLINE_EVENTS + count] = eventId;
      this.eventCount[slot] = count + 1;
      return;
    }
    let ids = this.overflow.get(slot);
    if (ids === undefined) {
      ids = Array.from(this.eventIds.subarray(slot * INLINE_EVENTS, slot * INLINE_EVENTS + count));
      this.overflow.set(slot, ids);
      this.eventCount[slot] = OVERFLOWED;
    }
    ids.push(eventId);
    if (ids.length > MAX_TIMELINE_EVENTS) ids.splice(0, ids.length - MAX_TIMELINE_EVENTS);
  }

  /** Ids of a slot's events, oldest first. */
  private eventsOf(slot: number): number[] {
    const count = this.eventCount[slot]!;
    if (count === OVERFLOWED) return [...this.overflow.get(slot)!];
    return Array.from(this.eventIds.subarray(slot * INLINE_EVENTS, slot * INLINE_EVENTS + count));
  }

  private idOf(slot: number): string {
    const at = this.idStart[slot]!;
    return fromUtf8.decode(this.arena.subarray(at, at + this.idLength[slot]!));
  }

  private drop(slot: number): void {
    this.dropped[slot] = 1;
    this.droppedCount++;
    this.live--;
    this.overflow.delete(slot);
    const mask = this.table.length - 1;
    for (let i = this.hashOfSlot(slot) & mask; this.table[i] !== 0; i = (i + 1) & mask) {
      if (this.table[i] === slot + 1) {
        this.table[i] = TOMBSTONE;
        return;
      }
    }
  }

  /**
   * Moves the live slots to the front, in order, with their ids packed in a fresh arena; names,
   * workers and states no live task has any more are forgotten; the table is rebuilt.
   */
  private compact(): void {
    const arena = new Uint8Array(Math.max(INITIAL_SLOTS * 40, this.arenaTop * 2));
    let top = 0;
    const overflow = new Map<number, number[]>();
    let to = 0;
    for (let from = this.head; from < this.used; from++) {
      if (this.dropped[from] === 1) continue;
      const at = this.idStart[from]!;
      const n = this.idLength[from]!;
      arena.set(this.arena.subarray(at, at + n), top);
      this.idStart[to] = top;
      this.idLength[to] = n;
      top += n;
      this.vhost[to] = this.vhost[from]!;
      this.state[to] = this.state[from]!;
      this.name[to] = this.name[from]!;
      this.worker[to] = this.worker[from]!;
      this.firstEventId[to] = this.firstEventId[from]!;
      this.lastEventId[to] = this.lastEventId[from]!;
      this.firstSeen[to] = this.firstSeen[from]!;
      this.lastSeen[to] = this.lastSeen[from]!;
      this.eventCount[to] = this.eventCount[from]!;
      this.eventIds.copyWithin(to * INLINE_EVENTS, from * INLINE_EVENTS, (from + 1) * INLINE_EVENTS);
      const ids = this.overflow.get(from);
      if (ids !== undefined) overflow.set(to, ids);
      this.dropped[to] = 0;
      to++;
    }
    this.arena = arena;
    this.arenaTop = top;
    this.overflow = overflow;
    this.used = to;
    this.head = 0;
    this.droppedCount = 0;
    this.rehash(Math.max(INITIAL_SLOTS * 4, this.table.length));
    this.recode();
  }

  private stateCode(state: string): number {
    const code = this.states.code(state);
    if (code === this.precedence.length) this.precedence.push(state === 'RETRY' ? -1 : statePrecedence(state));
    return code;
  }

  /** Rebuilds the name, worker and state code tables from the tasks held. */
  private recode(): void {
    const names = [...this.names.strings];
    const workers = [...this.workers.strings];
    const states = [...this.states.strings];
    this.names.clear();
    this.workers.clear();
    this.states.clear();
    this.stateOfType.clear();
    this.precedence.length = 0;
    for (let s = this.head; s < this.used; s++) {
      if (this.dropped[s] === 1) continue;
      if (this.name[s] !== NONE) this.name[s] = this.names.code(names[this.name[s]!]!);
      if (this.worker[s] !== NONE) this.worker[s] = this.workers.code(workers[this.worker[s]!]!);
      this.state[s] = this.stateCode(states[this.state[s]!]!);
    }
  }

  /** The index of the newest slot with a first event id below `before` (all when null); -1 when none. */
  private startBefore(before: number | null): number {
    if (before === null) return this.used - 1;
    let lo = this.head;
    let hi = this.used;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.firstEventId[mid]! < before) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * The task as the API shows it, merged from its events as Celery's State merges them. The
   * listing fields (state, name, worker, latest event) are the slot's, so a task reads as it was
   * listed even when retention already took some of its events.
   */
  private build(slot: number, events: readonly StoredEvent[]): TaskInfo {
    const entry = newTaskEntry(this.vhosts.strings[this.vhost[slot]!]!, this.idOf(slot), this.firstEventId[slot]!, this.firstSeen[slot]!);
    for (const e of events) {
      const data = this.deps.parse(e.body);
      if (data !== null) applyTaskEvent(entry, e.type, data, e.id, e.at);
    }
    const { events: _ids, ...info } = entry;
    info.state = this.states.strings[this.state[slot]!]!;
    info.name = this.name[slot] === NONE ? null : this.names.strings[this.name[slot]!]!;
    info.worker = this.worker[slot] === NONE ? null : this.workers.strings[this.worker[slot]!]!;
    info.lastEventId = this.lastEventId[slot]!;
    info.lastSeen = this.lastSeen[slot]!;
    return info;
  }
}
