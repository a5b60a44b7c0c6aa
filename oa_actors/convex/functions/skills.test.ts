import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { expectError, newTest } from "./test.setup";

type Src = "user" | "registry" | "project";
const skill = (skillId: string, source: Src, projectId: string | null = null, over = {}) => ({
  skillId, name: skillId, description: `does ${skillId}`, license: "MIT",
  allowedTools: ["bash"], metadata: { v: 1 }, source, projectId, path: `/s/${skillId}/SKILL.md`,
  createdAt: 1, updatedAt: 1, ...over,
});

describe("skills", () => {
  test("upsertFromFs keys by (source, projectId, skillId)", async () => {
    const t = newTest();
    expect(await t.mutation(api.skills.upsertFromFs, skill("a", "user"))).toBe("inserted");
    expect(await t.mutation(api.skills.upsertFromFs, skill("a", "project", "p1"))).toBe("inserted");
    expect(await t.mutation(api.skills.upsertFromFs, skill("a", "user"))).toBe("unchanged");
    expect(await t.mutation(api.skills.upsertFromFs, skill("a", "user", null, { description: "new" }))).toBe("updated");
    expect(await t.query(api.skills.listAll, {})).toHaveLength(2);
    expect(await t.query(api.skills.listByScope, { source: "user" })).toMatchObject([{ description: "new" }]);
    expect(await t.query(api.skills.listByScope, { source: "project", projectId: "p1" })).toHaveLength(1);
    expect(await t.query(api.skills.listByScope, { source: "project", projectId: "p2" })).toHaveLength(0);
  });

  test("bulkUpsertFromFs with prune mirrors deletions on disk", async () => {
    const t = newTest();
    const args = { source: "registry", projectId: null, skills: [skill("x", "registry"), skill("y", "registry")] };
    expect(await t.mutation(api.skills.bulkUpsertFromFs, args)).toEqual({ inserted: 2, updated: 0, unchanged: 0, removed: 0 });
    expect(await t.mutation(api.skills.bulkUpsertFromFs, args)).toMatchObject({ unchanged: 2 });
    const pruned = await t.mutation(api.skills.bulkUpsertFromFs, { ...args, skills: [skill("y", "registry")], prune: true });
    expect(pruned).toEqual({ inserted: 0, updated: 0, unchanged: 1, removed: 1 });
    const data = await expectError(
      t.mutation(api.skills.bulkUpsertFromFs, { source: "user", skills: [skill("z", "registry")] }),
      "SkillScopeMismatch",
    );
    expect(data).toMatchObject({ skillId: "z" });
    expect(data.message).toMatch(/not \(user/);
    const many = Array.from({ length: 1501 }, (_, i) => skill(`s${i}`, "user"));
    await expectError(t.mutation(api.skills.bulkUpsertFromFs, { source: "user", skills: many }), "BatchTooLarge");
  });

  test("removeByScope removes a scope, except the kept ids", async () => {
    const t = newTest();
    for (const id of ["a", "b", "c"]) await t.mutation(api.skills.upsertFromFs, skill(id, "project", "p"));
    await t.mutation(api.skills.upsertFromFs, skill("u", "user"));
    expect(await t.mutation(api.skills.removeByScope, { source: "project", projectId: "p", keepSkillIds: ["b"] })).toBe(2);
    expect(await t.mutation(api.skills.removeByScope, { source: "user" })).toBe(1);
    expect((await t.query(api.skills.listAll, {})).map((s: any) => s.skillId)).toEqual(["b"]);
  });
});
