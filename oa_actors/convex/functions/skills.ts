/**
 * Skills mirror ~/.openagents/skills (source "user"), the registry
 * ("registry") and each project's skills/ folder ("project", with projectId).
 * A scope is (source, projectId).
 */
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { fail } from "./errors";
import { pruneScope, skillsInScope, upsertSkill } from "./fsrows";
import {
  fsCounts,
  MAX_BATCH_ROWS,
  nullable,
  skillDoc,
  skillRow,
  skillRowFields,
  skillSource,
  upsertOutcome,
} from "./validators";

export const listAll = query({
  args: {},
  returns: v.array(skillDoc),
  handler: async (ctx) => await ctx.db.query("skills").take(5000),
});

export const listByScope = query({
  args: { source: skillSource, projectId: nullable(v.string()) },
  returns: v.array(skillDoc),
  handler: async (ctx, { source, projectId }) =>
    await skillsInScope(ctx, source, projectId),
});

export const upsertFromFs = mutation({
  args: skillRowFields,
  returns: upsertOutcome,
  handler: async (ctx, row) => await upsertSkill(ctx, row),
});

/**
 * Remove a scope's skills, except `keepSkillIds` when given (what is still
 * on disk). Returns how many were removed.
 */
export const removeByScope = mutation({
  args: {
    source: skillSource,
    projectId: nullable(v.string()),
    keepSkillIds: nullable(v.array(v.string())),
  },
  returns: v.number(),
  handler: async (ctx, { source, projectId, keepSkillIds }) =>
    await pruneScope(ctx, source, projectId, keepSkillIds),
});

/**
 * Upsert every skill of one scope; with `prune: true` also remove the
 * scope's skills that are not in the list (deleted on disk).
 */
export const bulkUpsertFromFs = mutation({
  args: {
    source: skillSource,
    projectId: nullable(v.string()),
    skills: v.array(skillRow),
    prune: nullable(v.boolean()),
  },
  returns: fsCounts,
  handler: async (ctx, { source, projectId, skills, prune }) => {
    if (skills.length > MAX_BATCH_ROWS) {
      fail("BatchTooLarge", `${skills.length} skills > ${MAX_BATCH_ROWS} per mutation`, {
        rows: skills.length,
        limit: MAX_BATCH_ROWS,
      });
    }
    const counts = { inserted: 0, updated: 0, unchanged: 0, removed: 0 };
    for (const s of skills) {
      if (s.source !== source || (s.projectId ?? null) !== (projectId ?? null)) {
        fail(
          "SkillScopeMismatch",
          `Skill ${s.skillId} is in scope (${s.source}, ${s.projectId ?? null}), ` +
            `not (${source}, ${projectId ?? null})`,
          { skillId: s.skillId },
        );
      }
      counts[await upsertSkill(ctx, s)] += 1;
    }
    if (prune) {
      counts.removed = await pruneScope(ctx, source, projectId, skills.map((s) => s.skillId));
    }
    return counts;
  },
});
