/**
 * Full-text search support for messages (the `search_text` index and
 * messages:search). Convex's search tokenizes on spaces and punctuation, so
 * it finds words, and a prefix of the last word; the local store's index
 * (docs/search.md) also finds any part of Chinese or Japanese text. Search
 * filters only see a document's own fields, hence `source` on each message.
 */
import { fail } from "./errors";
import type { MutationCtx } from "./_generated/server";
import type { Doc } from "./_generated/dataModel";

/** Convex searches at most 16 terms; longer queries are refused, not cut. */
export const MAX_SEARCH_TERMS = 16;
export const MAX_SEARCH_CHARS = 1_000;
export const MAX_SEARCH_PAGE = 100;
/**
 * Messages restamped in one mutation when a thread's `source` changes (a
 * message can arrive before its thread row, which then starts as "codex").
 */
export const RESTAMP_LIMIT = 1_000;

/** The query text, checked: a ConvexError with a `code` for bad input. */
export function checkSearchText(query: string): string {
  const text = query.trim();
  const terms = text.split(/\s+/).filter((t) => t.length > 0);
  if (terms.length === 0) {
    fail("EmptyQuery", "the query has no words to search for");
  }
  if (text.length > MAX_SEARCH_CHARS || terms.length > MAX_SEARCH_TERMS) {
    fail("QueryTooLong", `at most ${MAX_SEARCH_TERMS} words and ${MAX_SEARCH_CHARS} characters`, {
      maxTerms: MAX_SEARCH_TERMS,
      maxChars: MAX_SEARCH_CHARS,
    });
  }
  return text;
}

/** Copy a thread's new `source` onto its messages (at most RESTAMP_LIMIT). */
export async function restampSource(
  ctx: MutationCtx,
  threadId: string,
  source: Doc<"threads">["source"],
): Promise<number> {
  const messages = await ctx.db
    .query("messages")
    .withIndex("by_thread_seq", (q) => q.eq("threadId", threadId))
    .take(RESTAMP_LIMIT);
  let n = 0;
  for (const m of messages) {
    if (m.source !== source) {
      await ctx.db.patch(m._id, { source });
      n += 1;
    }
  }
  return n;
}
