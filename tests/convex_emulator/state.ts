/**
 * Persistence for the emulator: the committed documents of every table as
 * one JSON file, rewritten (write + rename, so never half-written) after each
 * successful mutation or action. On start the documents are re-inserted so
 * that they get back their original `_id`s.
 *
 * convex-test allocates ids from one counter shared by all tables
 * (`<zero-padded counter><table>`), counting ids of deleted documents too.
 * Restore inserts in counter order and burns the gaps by inserting and
 * deleting a throwaway copy in the same transaction. `_creationTime` is
 * re-stamped (order preserved); nothing in `convex/` depends on its value.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

type Doc = Record<string, unknown> & { _id: string; _creationTime: number };
type Tables = Record<string, Doc[]>;
interface Runner {
  run<T>(fn: (ctx: any) => Promise<T>): Promise<T>;
}

/**
 * Read every table in pages, each its own transaction, so a large state stays
 * under the per-transaction read limits the emulator enforces (32,000
 * documents, 16 MiB). A page that still reads too much is retried smaller.
 */
export async function dumpState(t: Runner, tableNames: string[]): Promise<Tables> {
  const tables: Tables = {};
  for (const name of tableNames) {
    tables[name] = [];
    let cursor: string | null = null;
    let numItems = DUMP_PAGE;
    for (;;) {
      let page: any;
      try {
        page = await t.run(async (ctx) => ctx.db.query(name).paginate({ numItems, cursor }));
      } catch (e: any) {
        if (numItems > 1 && /too much|too many/i.test(String(e?.message))) {
          numItems = Math.ceil(numItems / 2);
          continue;
        }
        throw e;
      }
      tables[name].push(...page.page);
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
  }
  return tables;
}

export function writeStateFile(path: string, tables: Tables) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ version: 1, tables }));
  renameSync(tmp, path);
}

export function readStateFile(path: string): Tables | null {
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, "utf8"));
  if (parsed?.version !== 1 || typeof parsed.tables !== "object") {
    throw new Error(`${path} is not an emulator state file`);
  }
  return parsed.tables as Tables;
}

const DUMP_PAGE = 1_000;

function counterOf(id: string, table: string): number {
  return Number.parseInt(id.slice(0, id.length - table.length), 10);
}

/** Per restore transaction: well under Convex's 16,000 writes and 16 MiB. */

const WRITES_PER_CHUNK = 8_000;
const BYTES_PER_CHUNK = 6 * 1024 * 1024;

/** convex-test's first id counter (`DatabaseFake._nextDocId`). */
const FIRST_COUNTER = 10_000;

export async function restoreState(t: Runner, tables: Tables): Promise<number> {
  const all: { table: string; fields: Record<string, unknown>; id: string; counter: number; size: number }[] = [];
  for (const [table, docs] of Object.entries(tables)) {
    for (const { _id, _creationTime, ...fields } of docs) {
      all.push({ table, fields, id: _id, counter: counterOf(_id, table), size: JSON.stringify(fields).length });
    }
  }
  if (all.length === 0) return 0;
  all.sort((a, b) => a.counter - b.counter);
  // Gaps are burned with the smallest document: the counter is shared by all tables.
  const burner = all.reduce((a, b) => (b.size < a.size ? b : a));
  let next = FIRST_COUNTER;
  let i = 0;
  while (i < all.length) {
    i = await t.run(async (ctx) => {
      let writes = 0;
      let bytes = 0;
      let j = i;
      for (; j < all.length && writes < WRITES_PER_CHUNK && bytes < BYTES_PER_CHUNK; j++) {
        const doc = all[j];
        while (next < doc.counter && writes < WRITES_PER_CHUNK) {
          const burnt: string = await ctx.db.insert(burner.table, burner.fields);
          await ctx.db.delete(burnt);
          next = counterOf(burnt, burner.table) + 1;
          writes += 2;
          bytes += burner.size;
        }
        if (next < doc.counter) break; // chunk full mid-gap: continue in the next one
        const id: string = await ctx.db.insert(doc.table, doc.fields);
        if (id !== doc.id) throw new Error(`restore: got id ${id} for ${doc.id}; bad state file`);
        next = doc.counter + 1;
        writes += 1;
        bytes += doc.size;
      }
      return j;
    });
  }
  return all.length;
}
