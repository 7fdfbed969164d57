/** A connection to the read store's file, as every connection to it is set up (WAL, synchronous=NORMAL: docs/durability.md). */
import Database from 'better-sqlite3';

export const openConnection = (file: string): Database.Database => {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
};
