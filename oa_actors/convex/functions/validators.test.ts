import { describe, expect, test } from "vitest";
import { modules } from "./test.setup";

/** Every registered function of every module in convex/ (tests and _generated excluded). */
async function registeredFunctions() {
  const found: { name: string; fn: any }[] = [];
  for (const [path, load] of Object.entries(modules)) {
    if (path.includes("_generated")) continue;
    const mod = (await load()) as Record<string, any>;
    for (const [name, fn] of Object.entries(mod)) {
      if (fn && (fn.isQuery || fn.isMutation || fn.isAction)) {
        found.push({ name: `${path.replace(/^\.\//, "").replace(/\.ts$/, "")}:${name}`, fn });
      }
    }
  }
  return found;
}

describe("function contracts", () => {
  test("every function declares `args` and `returns` validators", async () => {
    const fns = await registeredFunctions();
    // The public surface documented in docs/convex.md (a function missing here is not tested).
    expect(fns.map((f) => f.name).sort()).toEqual([
      "embeddings:applyBatch", "embeddings:rows", "embeddings:search",
      "messages:byId", "messages:countForThread", "messages:create", "messages:forThread", "messages:search",
      "projects:byId", "projects:list", "projects:remove", "projects:upsertFromFs",
      "runs:byId", "runs:claim", "runs:enqueue", "runs:finish", "runs:forThread",
      "runs:listPending", "runs:update",
      "skills:bulkUpsertFromFs", "skills:listAll", "skills:listByScope", "skills:removeByScope",
      "skills:upsertFromFs",
      "sync:applyBatch", "sync:applyProjects", "sync:applySkills",
      "threads:byId", "threads:byThreadId", "threads:create", "threads:list",
      "threads:listWithCounts", "threads:upsertFromStream",
      "usage:summary",
    ]);
    const missing = fns.filter((f) => JSON.parse(f.fn.exportReturns()) === null).map((f) => f.name);
    expect(missing, "functions without `returns`").toEqual([]);
    const anyArgs = fns.filter((f) => JSON.parse(f.fn.exportArgs()).type === "any").map((f) => f.name);
    expect(anyArgs, "functions without `args`").toEqual([]);
  });
});
