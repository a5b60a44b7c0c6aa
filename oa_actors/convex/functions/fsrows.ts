/**
 * Upsert/remove helpers for the filesystem-canonical tables (projects and
 * skills). Shared by the single-row functions and the writer's batches so a
 * replay writes nothing and a deletion on disk removes the row.
 */
import type { Infer } from "convex/values";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { assertDocumentSize, sameValue, stripNulls } from "./lib";
import { projectRow, skillRow, skillSource } from "./validators";

export type ProjectRow = Infer<typeof projectRow>;
export type SkillRow = Infer<typeof skillRow>;
export type SkillSource = Infer<typeof skillSource>;
export type Outcome = "inserted" | "updated" | "unchanged";

function sameFields(existing: Record<string, unknown>, clean: Record<string, unknown>) {
  const keys = new Set([...Object.keys(existing), ...Object.keys(clean)]);
  for (const k of keys) {
    if (k === "_id" || k === "_creationTime") continue;
    if (!sameValue(existing[k], clean[k])) return false;
  }
  return true;
}

/**
 * A project by its id; with `machineId` (null: rows without a machine) only
 * that machine's: two desktops may both have a project "web".
 */
export async function projectById(ctx: QueryCtx, id: string, machineId?: string | null) {
  return await ctx.db
    .query("projects")
    .withIndex("by_projectId", (q) =>
      machineId === undefined ? q.eq("id", id) : q.eq("id", id).eq("machineId", machineId ?? undefined),
    )
    .first();
}

export async function upsertProject(ctx: MutationCtx, row: ProjectRow): Promise<Outcome> {
  const clean = stripNulls(row);
  assertDocumentSize("projects", row.id, clean);
  const existing = await projectById(ctx, row.id, row.machineId ?? null);
  if (existing === null) {
    await ctx.db.insert("projects", clean);
    return "inserted";
  }
  if (sameFields(existing, clean)) return "unchanged";
  // replace, not patch: a field removed on disk must disappear here too.
  await ctx.db.replace(existing._id, clean);
  return "updated";
}

export async function removeProject(
  ctx: MutationCtx,
  id: string,
  machineId?: string | null,
): Promise<boolean> {
  const existing = await projectById(ctx, id, machineId);
  if (existing === null) return false;
  await ctx.db.delete(existing._id);
  return true;
}

/** Skills of one scope: `user`/`registry` have no projectId; `project` has one. */
export async function skillsInScope(
  ctx: QueryCtx,
  source: SkillSource,
  projectId: string | null | undefined,
) {
  return await ctx.db
    .query("skills")
    .withIndex("by_scope", (q) =>
      q.eq("source", source).eq("projectId", projectId ?? undefined),
    )
    .collect();
}

export async function upsertSkill(ctx: MutationCtx, row: SkillRow): Promise<Outcome> {
  const clean = stripNulls(row);
  assertDocumentSize("skills", row.skillId, clean);
  const existing = await ctx.db
    .query("skills")
    .withIndex("by_scope", (q) =>
      q
        .eq("source", row.source)
        .eq("projectId", row.projectId ?? undefined)
        .eq("skillId", row.skillId),
    )
    .first();
  if (existing === null) {
    await ctx.db.insert("skills", clean);
    return "inserted";
  }
  if (sameFields(existing, clean)) return "unchanged";
  await ctx.db.replace(existing._id, clean);
  return "updated";
}

/** Remove the scope's skills whose skillId is not in `keep` (all if absent). */
export async function pruneScope(
  ctx: MutationCtx,
  source: SkillSource,
  projectId: string | null | undefined,
  keep: string[] | null | undefined,
): Promise<number> {
  const keepSet = new Set(keep ?? []);
  let removed = 0;
  for (const s of await skillsInScope(ctx, source, projectId)) {
    if (!keepSet.has(s.skillId)) {
      await ctx.db.delete(s._id);
      removed += 1;
    }
  }
  return removed;
}
