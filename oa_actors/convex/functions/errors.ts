/**
 * Every error a function of this deployment throws on purpose, in one place.
 *
 * Errors are `ConvexError`s whose data is `{code, message, ...details}`. The
 * Convex HTTP API returns that object as `errorData` (convex-js clients get it
 * as `error.data`), so callers branch on `code` and never parse messages. The
 * Python writer reads the codes it acts on (oa_actors/convex/client.py
 * `DOCUMENT_TOO_LARGE`, `BATCH_TOO_LARGE`; tests/convex/test_error_codes.py
 * checks they exist here).
 */
import { ConvexError, type Value } from "convex/values";

/** The codes, as a closed union: adding one is a reviewed change of this file. */
export const ERROR_CODES = [
  /** A row is over the per-document limit (details: table, key, bytes, limit). */
  "DocumentTooLarge",
  /** A batch mutation got more rows or bytes than one mutation may write (details: rows, bytes, limit). */
  "BatchTooLarge",
  /** The thread a message or run names does not exist (details: threadId). */
  "UnknownThread",
  /** The run does not exist (details: runId). */
  "UnknownRun",
  /** A run may not move from its status to the one asked (details: runId, from, to). */
  "InvalidRunTransition",
  /** A skill in a bulk upsert belongs to another scope than the call's (details: skillId). */
  "SkillScopeMismatch",
  /** A search query has no words to search for. */
  "EmptyQuery",
  /** A search query has too many words or characters (details: maxTerms, maxChars). */
  "QueryTooLong",
  /** A vector of the wrong length or with a non-finite number (details: expected, got). */
  "BadVector",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What `errorData` holds: the code, a human-readable message, and the code's details. */
export type ErrorData = { code: ErrorCode; message: string } & Record<string, Value>;

/** Details of an error: any fields but the two every error has. */
export type ErrorDetails = Record<string, Value> & { code?: never; message?: never };

/** Throw the typed error `code` with `message` and optional details. */
export function fail(code: ErrorCode, message: string, details: ErrorDetails = {}): never {
  throw new ConvexError<ErrorData>({ code, message, ...details });
}

/** The code of an error thrown by `fail`, or null for any other error. */
export function errorCode(error: unknown): ErrorCode | null {
  if (!(error instanceof ConvexError)) return null;
  const code = (error.data as { code?: unknown } | null)?.code;
  return typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code)
    ? (code as ErrorCode)
    : null;
}
