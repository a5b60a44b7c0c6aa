/**
 * `npx vitest run` from the repo root runs the Convex function tests (in the
 * edge runtime, like Convex's isolates) and the HTTP emulator test (in node,
 * since it spawns a child process).
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "convex",
          include: ["convex/**/*.test.ts"],
          environment: "edge-runtime",
          testTimeout: 30_000,
          server: { deps: { inline: ["convex-test"] } },
        },
      },
      {
        test: {
          name: "emulator",
          include: ["tests/convex_emulator/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
