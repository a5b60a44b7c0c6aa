/// <reference types="vite/client" />
/**
 * Modules for `convexTest(schema, modules)`: every function file and
 * `_generated/`, excluding tests and this file (names with two dots).
 */
import { convexTest } from "convex-test";
import type { ConvexError } from "convex/values";
import { expect } from "vitest";
import { type ErrorCode, type ErrorData, errorCode } from "./errors";
import schema from "./schema";

export const modules = import.meta.glob("./**/!(*.*.*)*.*s");

/** A fresh in-memory deployment with Convex's transaction limits enforced. */
export function newTest() {
  return convexTest({ schema, modules, transactionLimits: true });
}

/** A message row as the Python writer sends it (nulls for absent values). */
export function messageRow(
  threadId: string,
  seq: number,
  over: Partial<Record<string, unknown>> = {},
) {
  return {
    threadId,
    key: `k-${threadId}-${seq}-`.padEnd(32, "0"),
    seq,
    ts: 1_700_000_000_000 + seq,
    role: "assistant" as const,
    kind: "message",
    text: `text ${seq}`,
    data: null,
    turnId: null,
    ...over,
  };
}

/** A thread row as the Python writer sends it. */
export function threadRow(threadId: string, over: Partial<Record<string, unknown>> = {}) {
  return {
    threadId,
    source: "codex" as const,
    rolloutPath: `/home/u/.codex/sessions/rollout-${threadId}.jsonl`,
    title: null,
    cwd: "/work",
    model: "gpt-5",
    cliVersion: "0.169.0",
    git: { commit: "abc", branch: "main", repo: null },
    parentThreadId: null,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_500,
    usage: null,
    ...over,
  };
}

/**
 * Await `call`, which must fail with the typed error `code` (convex/errors.ts),
 * and return the error's data (`{code, message, ...details}`).
 */
export async function expectError(call: Promise<unknown>, code: ErrorCode): Promise<ErrorData> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}, the call succeeded`).not.toBeNull();
  expect(errorCode(error), String(error)).toBe(code);
  return (error as ConvexError<ErrorData>).data;
}
