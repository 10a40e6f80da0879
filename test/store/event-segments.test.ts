// The event log's files without a broker: chunks round-trip through the binary layout, segments
// are read back in order after a reopen, filled ones roll over and go whole, a torn or corrupt
// tail (kill -9 mid-write, power lost) is cut at open and appends go on after it, a failed commit's
// chunk is taken back, and what to fsync is handed out once per write.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { ChunkBuilder, chunkHeader, decodeChunk, encodeChunk } from '../../server/store/event-chunk.js';
import { EventSegments, type ChunkPlace } from '../../server/store/event-segments.js';
import { crc32, crc32Js } from '../../server/store/crc32.js';
import type { StoredEvent } from '../../server/store/index.js';

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-segments-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'b.db-events');
}

const ev = (id: number, vhost = '/', type = 'task-received', at = 1_000 + id, body = `{"n":${id}}`): StoredEvent =>
  ({ id, vhost, type, routingKey: type.replace('-', '.'), at, body: Buffer.from(body) });

/** What a chunk's events read as, for comparisons (bodies as text). */
const plain = (events: StoredEvent[]): unknown[] => events.map((e) => ({ ...e, body: Buffer.from(e.body).toString() }));

/** The fsyncs asked of the store's thread, run here at once. */
const fsynced: number[][] = [];
function syncHook(fds: readonly number[], done: (err: Error | null) => void): void {
  for (const fd of fds) fs.fsyncSync(fd);
  fsynced.push([...fds]);
  done(null);
}

/** Opens the segments of `dir`, collecting the chunks read back. */
function open(dir: string, segmentBytes?: number): { segs: EventSegments; chunks: { ids: number[]; place: ChunkPlace }[] } {
  const chunks: { ids: number[]; place: ChunkPlace }[] = [];
  const segs = new EventSegments(dir, { fsync: syncHook, ...(segmentBytes === undefined ? {} : { segmentBytes }) }, (bytes, place) => {
    chunks.push({ ids: decodeChunk(bytes).map((e) => e.id), place });
  });
  return { segs, chunks };
}

const segmentFiles = (dir: string): string[] => fs.readdirSync(dir).sort();

t.test('a chunk round-trips: ids, vhosts, types, routing keys, times and bodies; its header says its bounds', async (t) => {
  const events = [ev(7), ev(8, 'other', 'worker-heartbeat'), ev(9, '/', 'task-failed', 5_000, '{"exception":"é"}'), ev(10, 'vé', 'x', 6_000, '')];
  const chunk = encodeChunk(events);
  t.same({ ...chunk, bytes: undefined }, { firstId: 7, lastId: 10, lastAt: 6_000, count: 4, bytes: undefined });
  t.same(chunkHeader(chunk.bytes), { firstId: 7, lastId: 10, lastAt: 6_000, count: 4 });
  t.same(plain(decodeChunk(chunk.bytes)), plain(events));
  t.equal(chunkHeader(new Uint8Array(40)), null, 'zeros are no chunk');
  t.equal(chunkHeader(new Uint8Array(5)), null, 'nor a few bytes');
});

t.test('the builder reuses its buffer: each chunk is whole when taken, the next starts empty', async (t) => {
  const b = new ChunkBuilder();
  t.equal(b.take(), null, 'nothing appended: no chunk');
  const big = 'x'.repeat(100_000); // more than the first buffer: it grows
  b.append(1, '/', 'a', 'a', 1, Buffer.from(big));
  b.append(2, '/', 'b', 'b', 2, Buffer.from('{}'));
  const first = b.take()!;
  t.same(decodeChunk(first.bytes).map((e) => [e.id, e.type, e.body.byteLength]), [[1, 'a', 100_000], [2, 'b', 2]]);
  b.append(3, 'v', 'c', 'c', 3, Buffer.from('{"k":1}'));
  const second = b.take()!;
  t.same({ first: second.firstId, last: second.lastId, count: second.count }, { first: 3, last: 3, count: 1 });
  t.same(plain(decodeChunk(second.bytes)), [{ id: 3, vhost: 'v', type: 'c', routingKey: 'c', at: 3, body: '{"k":1}' }]);
});

t.test('chunks are read back in order after a reopen; full segments roll over and go whole', async (t) => {
  const dir = tempDir(t);
  const { segs } = open(dir, 300);
  const places: ChunkPlace[] = [];
  for (let i = 1; i <= 6; i++) places.push(segs.append(encodeChunk([ev(2 * i - 1), ev(2 * i)]).bytes));
  t.same(decodeChunk(segs.read(places[2]!)).map((e) => e.id), [5, 6], 'read by place');
  const files = segmentFiles(dir);
  t.ok(files.length >= 3, `several segments of about 300 bytes (${files.join(', ')})`);
  t.equal(segs.sizeBytes(), files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0), 'size = the files');
  segs.close();

  const again = open(dir, 300);
  t.same(again.chunks.map((c) => c.ids), [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]);
  t.same(again.chunks.map((c) => c.place), places, 'at the places they were written to');
  const third = again.chunks[2]!.place.segment;
  again.segs.removeBefore(third);
  t.equal(again.segs.oldestSegment(), third);
  t.equal(segmentFiles(dir).length, files.length - (third - 1), 'the segments before it are gone');
  again.segs.append(encodeChunk([ev(13)]).bytes);
  again.segs.close();
  t.same(open(dir, 300).chunks.map((c) => c.ids), [[5, 6], [7, 8], [9, 10], [11, 12], [13]]);
});

t.test('a torn tail (a write cut short) or a bad record is cut at open; appends go on after it', async (t) => {
  const dir = tempDir(t);
  const { segs } = open(dir);
  segs.append(encodeChunk([ev(1)]).bytes);
  const second = segs.append(encodeChunk([ev(2), ev(3)]).bytes);
  segs.close();
  const file = path.join(dir, segmentFiles(dir)[0]!);
  const whole = fs.statSync(file).size;
  fs.truncateSync(file, whole - 5); // the second record cut short

  const cut = open(dir);
  t.same(cut.chunks.map((c) => c.ids), [[1]], 'the intact chunk only');
  t.equal(fs.statSync(file).size, second.offset - 12, 'the file cut where the torn record began');
  const next = cut.segs.append(encodeChunk([ev(4)]).bytes);
  t.same(decodeChunk(cut.segs.read(next)).map((e) => e.id), [4]);
  cut.segs.close();

  // A flipped byte in the last record's payload: its checksum no longer matches.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0xff]), 0, 1, next.offset + 20);
  fs.closeSync(fd);
  // Garbage after it, as a power loss may leave.
  fs.appendFileSync(file, Buffer.alloc(64, 0));
  const again = open(dir);
  t.same(again.chunks.map((c) => c.ids), [[1]], 'a record that fails its checksum and what follows are cut');
  again.segs.append(encodeChunk([ev(5)]).bytes);
  again.segs.close();
  t.same(open(dir).chunks.map((c) => c.ids), [[1], [5]]);
});

t.test('undo takes back the chunk appended last', async (t) => {
  const dir = tempDir(t);
  const { segs } = open(dir);
  segs.append(encodeChunk([ev(1)]).bytes);
  const size = segs.sizeBytes();
  const place = segs.append(encodeChunk([ev(2)]).bytes);
  segs.undo(place);
  t.equal(segs.sizeBytes(), size);
  segs.append(encodeChunk([ev(3)]).bytes);
  segs.close();
  t.same(open(dir).chunks.map((c) => c.ids), [[1], [3]]);
});

t.test('what to fsync: the segment written since the last sync; a filled one is fsynced as it fills, then closed', async (t) => {
  const dir = tempDir(t);
  const { segs } = open(dir, 200);
  t.same(segs.syncTargets(), [], 'nothing written');
  segs.append(encodeChunk([ev(1)]).bytes);
  const first = segs.syncTargets();
  t.equal(first.length, 1);
  t.same(segs.syncTargets(), [], 'handed out once');
  segs.synced(first);
  fsynced.length = 0;
  segs.append(encodeChunk([ev(2)]).bytes); // rolls over (each record is about 120 bytes): the first was synced since its write
  t.same(fsynced, [], 'a filled segment already synced is not fsynced again');
  t.throws(() => fs.fstatSync(first[0]!), 'and is closed');
  const second = segs.syncTargets();
  segs.synced(second);
  segs.append(encodeChunk([ev(3)]).bytes);
  segs.append(encodeChunk([ev(4)]).bytes); // rolls over: the third segment, written since its sync, is fsynced now
  t.equal(fsynced.length, 1, 'the filled segment fsynced as it filled');
  t.throws(() => fs.fstatSync(fsynced[0]![0]!), 'then closed');
  const active = segs.syncTargets();
  t.equal(active.length, 1, 'a sync now covers the segment being written');
  t.ok(fs.fstatSync(active[0]!).isFile());
  segs.synced(active);
  t.ok(fs.fstatSync(active[0]!).isFile(), 'which stays open');
  segs.syncNow();
  segs.close();
});

t.test('CRC-32: the JavaScript one agrees with zlib\'s', async (t) => {
  const data = Buffer.alloc(1000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  t.equal(crc32Js(Buffer.from('123456789')), 0xcbf43926, 'the check value');
  t.equal(crc32Js(data), crc32(data));
  const native = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
  if (native !== undefined) t.equal(crc32Js(data), native(data) >>> 0);
});
