/**
 * Projects mirror ~/.openagents/projects (canonical on disk). `id` is the
 * project's own id from its file, not the Convex document id.
 */
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { projectById, removeProject, upsertProject } from "./fsrows";
import { projectDoc, projectRowFields, upsertOutcome } from "./validators";

export const list = query({
  args: {},
  returns: v.array(projectDoc),
  handler: async (ctx) => {
    const all = await ctx.db.query("projects").take(1000);
    return all.sort((a, b) => a.name.localeCompare(b.name));
  },
});

export const byId = query({
  args: { id: v.string(), machineId: v.optional(v.string()) },
  returns: v.union(projectDoc, v.null()),
  handler: async (ctx, { id, machineId }) => await projectById(ctx, id, machineId),
});

/** Insert or replace by `id`; a replay returns "unchanged" and writes nothing. */
export const upsertFromFs = mutation({
  args: projectRowFields,
  returns: upsertOutcome,
  handler: async (ctx, row) => await upsertProject(ctx, row),
});

/** The project's folder was deleted: remove it. Returns whether it existed. */
export const remove = mutation({
  args: { id: v.string(), machineId: v.optional(v.string()) },
  returns: v.boolean(),
  handler: async (ctx, { id, machineId }) => await removeProject(ctx, id, machineId ?? null),
});
