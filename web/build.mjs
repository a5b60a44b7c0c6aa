/**
 * Builds the web app into oa_actors/web/dist (served by the bridge; see oa_actors/gateway/web.py):
 * the bundle and stylesheet with content hashes in their names, the PWA manifest and its icons,
 * and manifest.json naming the entry files. Run by `make web` (from the locked node_modules).
 */
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { iconPng } from "./icons.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "oa_actors", "web", "dist");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "app-[hash]",
  chunkNames: "chunk-[hash]",
  splitting: true, // pages other than the thread list are chunks loaded on first use (main.tsx)
  outdir: out,
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const files = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = files.find((f) => f.startsWith("app-") && f.endsWith(".js"));
const css = files.find((f) => f.endsWith(".css"));
if (!js || !css) throw new Error(`build produced ${files.join(", ")}: no .js or .css`);
// The chunks the entry imports statically: the page preloads them with the entry (no waterfall).
const entryOut = Object.entries(result.metafile.outputs).find(([p]) => basename(p) === js)[1];
const preload = entryOut.imports.filter((i) => i.kind === "import-statement").map((i) => basename(i.path));

for (const size of [192, 512]) writeFileSync(join(out, `icon-${size}.png`), iconPng(size));
const webmanifest = {
  name: "OpenAgents",
  short_name: "OpenAgents",
  description: "Every coding-agent session on this desktop, live, searchable, runnable.",
  start_url: "/",
  scope: "/",
  display: "standalone",
  background_color: "#f7f8fa",
  theme_color: "#1d2330",
  icons: [
    { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any maskable" },
    { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any maskable" },
  ],
};
writeFileSync(join(out, "manifest.webmanifest"), JSON.stringify(webmanifest, null, 1) + "\n");
writeFileSync(join(out, "manifest.json"), JSON.stringify({ entry: { js, css, preload } }, null, 1) + "\n");
console.log(`web app built: ${files.join(", ")}`);
