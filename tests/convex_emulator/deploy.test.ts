/**
 * Proves `convex/` bundles for deploy, offline: `npx convex deploy` with a
 * self-hosted URL nobody listens on. `--write-push-request` stops before the
 * push and writes the request; `--push-all-modules` skips the only network
 * call before it (fetching the deployment's module hashes); codegen and
 * typecheck are off because they are covered elsewhere (and codegen would
 * try to pull the deployment's config).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test } from "vitest";

const ROOT = resolve(__dirname, "../..");

test("convex deploy bundles every function module and the schema", () => {
  const dir = mkdtempSync(join(tmpdir(), "convex-push-"));
  try {
    const out = join(dir, "push");
    const env = { ...process.env };
    delete env.CONVEX_DEPLOYMENT;
    delete env.CONVEX_DEPLOY_KEY;
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/convex/bin/main.js"), "deploy", "--write-push-request", out,
        "--push-all-modules", "--codegen", "disable", "--typecheck", "disable", "-y"],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...env, CONVEX_SELF_HOSTED_URL: "http://127.0.0.1:1", CONVEX_SELF_HOSTED_ADMIN_KEY: "dummy-admin-key" },
      },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const req = JSON.parse(readFileSync(`${out}.json`, "utf8"));
    const paths: string[] = req.appDefinition.changedModules.map((m: any) => m.path);
    for (const mod of ["threads", "messages", "projects", "skills", "runs", "sync"]) {
      expect(paths).toContain(`${mod}.js`);
    }
    // Tests and their setup never ship.
    expect(paths.filter((p) => /test/.test(p))).toEqual([]);
    expect(req.appDefinition.schema).toBeTruthy();
    const threads = req.appDefinition.changedModules.find((m: any) => m.path === "threads.js");
    expect(threads.source).toMatch(/listWithCounts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
