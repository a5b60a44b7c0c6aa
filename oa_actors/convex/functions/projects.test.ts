import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { newTest } from "./test.setup";

const row = (id: string, over = {}) => ({
  id, name: `Project ${id}`, workingDir: `/w/${id}`, description: null,
  repo: { provider: "github", remote: "origin", url: null, branch: "main" },
  agentFile: null, instructions: "be nice", approvals: null, model: null, sandbox: null,
  createdAt: 1, updatedAt: 1, ...over,
});

describe("projects", () => {
  test("upsertFromFs inserts, replaces, and is replay-safe; list/byId read", async () => {
    const t = newTest();
    expect(await t.mutation(api.projects.upsertFromFs, row("b"))).toBe("inserted");
    expect(await t.mutation(api.projects.upsertFromFs, row("a"))).toBe("inserted");
    expect(await t.mutation(api.projects.upsertFromFs, row("a"))).toBe("unchanged");
    // A field removed on disk disappears (replace, not merge).
    expect(await t.mutation(api.projects.upsertFromFs, row("a", { instructions: null, updatedAt: 2 }))).toBe("updated");
    const a = await t.query(api.projects.byId, { id: "a" });
    expect(a.instructions).toBeUndefined();
    expect((await t.query(api.projects.list, {})).map((p: any) => p.id)).toEqual(["a", "b"]);
    expect(await t.query(api.projects.byId, { id: "zzz" })).toBeNull();
  });

  test("remove deletes by id and reports whether it existed", async () => {
    const t = newTest();
    await t.mutation(api.projects.upsertFromFs, row("a"));
    expect(await t.mutation(api.projects.remove, { id: "a" })).toBe(true);
    expect(await t.mutation(api.projects.remove, { id: "a" })).toBe(false);
    expect(await t.query(api.projects.list, {})).toEqual([]);
  });

  test("rejects rows missing required fields", async () => {
    const t = newTest();
    await expect(t.mutation(api.projects.upsertFromFs, { id: "a", name: "x" })).rejects.toThrow();
  });
});
