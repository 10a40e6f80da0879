// The store's public surface: the contract, the SQLite implementation and the group commit.
// Code outside server/store/ imports from here, never from better-sqlite3.
export type * from './store.js';
export { DELAYED_LANE } from './store.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { GroupCommit, type CommitDone, type GroupCommitOptions } from './group-commit.js';
export { decodeChunk, encodeChunk, type EventChunk } from './event-chunk.js';
