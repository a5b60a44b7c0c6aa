import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import { ERROR_CODES, errorCode, fail } from "./errors";

describe("typed errors", () => {
  test("fail throws a ConvexError whose data carries the code, the message and the details", () => {
    let caught: unknown = null;
    try {
      fail("UnknownRun", "Unknown run r1", { runId: "r1" });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConvexError);
    expect((caught as ConvexError<any>).data).toEqual({ code: "UnknownRun", message: "Unknown run r1", runId: "r1" });
    expect(errorCode(caught)).toBe("UnknownRun");
  });

  test("errorCode is null for anything that is not one of our codes", () => {
    expect(errorCode(new Error("DocumentTooLarge: x"))).toBeNull();
    expect(errorCode(new ConvexError("plain string data"))).toBeNull();
    expect(errorCode(new ConvexError({ code: "SomethingElse" }))).toBeNull();
    expect(errorCode(null)).toBeNull();
  });

  test("codes are unique PascalCase names", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const c of ERROR_CODES) expect(c).toMatch(/^[A-Z][A-Za-z]+$/);
  });
});
