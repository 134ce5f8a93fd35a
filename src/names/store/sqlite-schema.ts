import type Database from 'better-sqlite3';
import type { StoreEntry } from './store.js';

/**
 * The tables of the embedded store:
 *   entries  the current value of each name (owner index for list-devices)
 *   events   the history, one row per revision, trimmed to the history limit (compaction)
 *   meta     id (this database's revision sequence), revision, compacted
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  name TEXT PRIMARY KEY, owner TEXT NOT NULL, version INTEGER NOT NULL,
  revision INTEGER NOT NULL, value TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_owner ON entries (owner, name);
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,
  owner TEXT NOT NULL, version INTEGER NOT NULL, value TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

export interface EventRow {
  revision: number;
  type: string;
  name: string;
  owner: string;
  version: number;
  value: string | null;
}

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export interface Statements {
  get: Stmt<[string], StoreEntry>;
  byOwner: Stmt<[string], StoreEntry>;
  upsert: Stmt<[StoreEntry]>;
  remove: Stmt<[string]>;
  insertEvent: Stmt<[EventRow]>;
  eventsAfter: Stmt<[number], EventRow>;
  compact: Stmt<[number]>;
  getMeta: Stmt<[string], { value: string }>;
  setMeta: Stmt<[string, string]>;
}

export function prepareStatements(db: Database.Database): Statements {
  const cols = 'name, owner, version, revision, value';
  return {
    get: db.prepare<[string], StoreEntry>(`SELECT ${cols} FROM entries WHERE name = ?`),
    byOwner: db.prepare<[string], StoreEntry>(
      `SELECT ${cols} FROM entries WHERE owner = ? ORDER BY name`,
    ),
    upsert: db.prepare<[StoreEntry]>(
      `INSERT INTO entries (${cols}) VALUES (@name, @owner, @version, @revision, @value)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, version = excluded.version,
       revision = excluded.revision, value = excluded.value`,
    ),
    remove: db.prepare<[string]>('DELETE FROM entries WHERE name = ?'),
    insertEvent: db.prepare<[EventRow]>(
      `INSERT INTO events (revision, type, name, owner, version, value)
       VALUES (@revision, @type, @name, @owner, @version, @value)`,
    ),
    eventsAfter: db.prepare<[number], EventRow>(
      'SELECT revision, type, name, owner, version, value FROM events WHERE revision > ? ORDER BY revision',
    ),
    compact: db.prepare<[number]>('DELETE FROM events WHERE revision <= ?'),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
}
