// A small JSON document on disk (lowdb) with group commit: lowdb rewrites the whole file on every
// write, so changes made while a write is in flight are folded into the next one. Callers that
// need durability await the promise returned by `change`, which resolves once their change is on
// disk; callers that do not simply ignore it.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';

export class JsonStore<T extends object> {
  private writing: Promise<void> | null = null;
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private closed = false;

  private readonly db: Low<T>;

  private constructor(db: Low<T>) {
    this.db = db;
  }

  /** Opens (or creates) the file. `new Low(new JSONFile())`, never JSONFilePreset: that one is in-memory under NODE_ENV=test. */
  static async open<T extends object>(path: string, defaults: T): Promise<JsonStore<T>> {
    await mkdir(dirname(path), { recursive: true });
    const db = new Low<T>(new JSONFile<T>(path), structuredClone(defaults));
    await db.read();
    db.data = { ...structuredClone(defaults), ...(db.data ?? {}) };
    return new JsonStore(db);
  }

  get data(): T {
    return this.db.data;
  }

  /** Applies `mutate` (if given) to the data now and resolves once the result is on disk. */
  change(mutate?: (data: T) => void): Promise<void> {
    if (mutate) mutate(this.db.data);
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.writing) this.writing = this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    while (this.waiters.length > 0) {
      const batch = this.waiters;
      this.waiters = [];
      try {
        await this.db.write();
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = null;
  }

  /** Waits for pending writes; later changes are refused. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    this.closed = true;
  }
}
