// Makes committed WAL frames durable with an fsync on the store's own thread, so the broker's
// event loop never waits on the disk, nor a confirm on libuv's pool. One fsync covers every commit before it.
import fs from 'node:fs';
import path from 'node:path';
import { FsyncThread } from './fsync-thread.js';

/**
 * fsync of a database's -wal file. Linux's fsync flushes the file (the inode), whichever
 * descriptor wrote it, so our own read-only descriptor is enough. The descriptor is reopened if
 * the WAL file was replaced (it is never deleted while the exclusive-locked database is open,
 * but the check costs two stat calls per sync and removes the doubt).
 */
export class WalSync {
  private fd: number | null = null;
  private ino = 0;
  private dirSynced = false;
  /** Not libuv's pool: there an fsync would queue behind every scrypt of a login flood. */
  private readonly thread = new FsyncThread();

  constructor(private readonly walPath: string) {}

  /** The descriptor of the current WAL file, or null when there is none yet (nothing committed). */
  private current(): number | null {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.walPath);
    } catch {
      return null;
    }
    if (this.fd !== null && st.ino === this.ino) return this.fd;
    this.closeFd();
    this.fd = fs.openSync(this.walPath, 'r');
    this.ino = st.ino;
    if (!this.dirSynced) {
      // The WAL file's directory entry must be durable too, once, after it was created.
      const dir = fs.openSync(path.dirname(this.walPath), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
      this.dirSynced = true;
    }
    return this.fd;
  }

  /** fsyncs the WAL, and `others` after it (the event segments written since the last sync), off the event loop. */
  sync(done: (err: Error | null) => void, others: readonly number[] = []): void {
    let fd: number | null;
    try {
      fd = this.current();
    } catch (err) {
      done(err as Error);
      return;
    }
    if (fd === null) {
      // sync() follows a commit, and a commit in WAL mode writes the WAL: never claim durability
      // for frames we cannot find.
      done(new Error(`cannot fsync ${this.walPath}: the WAL file is missing`));
      return;
    }
    this.thread.fsync([fd, ...others], done);
  }

  /** fsyncs other descriptors (a filled event segment) on the same thread, after whatever was asked before. */
  syncFds(fds: readonly number[], done: (err: Error | null) => void): void {
    this.thread.fsync(fds, done);
  }

  syncNow(): void {
    const fd = this.current();
    if (fd === null) throw new Error(`cannot fsync ${this.walPath}: the WAL file is missing`);
    fs.fsyncSync(fd);
  }

  private closeFd(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  close(): void {
    this.thread.close();
    this.closeFd();
  }
}
