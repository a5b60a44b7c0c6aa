/**
 * TEST INFRASTRUCTURE ONLY: a stand-in for `convex-local-backend`, which
 * cannot be downloaded on the build machines. It runs the real `convex/`
 * functions under `convex-test` and answers the Convex HTTP API the Python
 * writer uses. Shapes follow convex-backend's crates/local_backend
 * (public_api.rs, router.rs) and convex-js's browser/http_client.ts.
 *
 *   npx tsx tests/convex_emulator/server.ts --port 0 --admin-key KEY [--state FILE]
 *       [--slow-batch-rows N --slow-batch-ms MS]
 *
 * `--slow-batch-rows N --slow-batch-ms MS`: a `sync:applyBatch` call with more than N rows
 * (threads + messages) is applied at once but answered only MS ms later, as a Convex under load
 * answers a big batch late (the writer's timeout and batch shrinking are tested with it).
 *
 * Prints `LISTENING <port>` on stdout when ready; exits 0 on SIGTERM/SIGINT
 * after finishing the request in flight.
 */
import { timingSafeEqual } from "node:crypto";
import { readdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { ConvexError, convexToJson, jsonToConvex } from "convex/values";
import { dumpState, readStateFile, restoreState, writeStateFile } from "./state";

const HERE = dirname(fileURLToPath(import.meta.url));
const CONVEX_DIR = resolve(HERE, "../../convex");
export const EMULATOR_VERSION = "0.0.0-oa-emulator";
const MAX_BODY_BYTES = 32 * 1024 * 1024;

interface Options {
  port: number;
  host: string;
  adminKey: string | null;
  statePath: string | null;
  instanceName: string;
  allowAnonymous: boolean;
  slowBatchRows: number;
  slowBatchMs: number;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const opt: Options = {
    port: Number(env.CONVEX_EMULATOR_PORT ?? 0),
    host: env.CONVEX_EMULATOR_HOST ?? "127.0.0.1",
    adminKey: env.CONVEX_EMULATOR_ADMIN_KEY ?? null,
    statePath: env.CONVEX_EMULATOR_STATE ?? null,
    instanceName: env.CONVEX_EMULATOR_INSTANCE_NAME ?? "oa-emulator",
    allowAnonymous: env.CONVEX_EMULATOR_ALLOW_ANONYMOUS === "1",
    slowBatchRows: Infinity,
    slowBatchMs: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--port") opt.port = Number(next());
    else if (a === "--host") opt.host = next();
    else if (a === "--admin-key") opt.adminKey = next();
    else if (a === "--state") opt.statePath = next();
    else if (a === "--instance-name") opt.instanceName = next();
    else if (a === "--allow-anonymous") opt.allowAnonymous = true;
    else if (a === "--slow-batch-rows") opt.slowBatchRows = Number(next());
    else if (a === "--slow-batch-ms") opt.slowBatchMs = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opt.port) || opt.port < 0 || opt.port > 65535) {
    throw new Error(`bad port ${opt.port}`);
  }
  return opt;
}

/** convex-test's module map, built from the files (tsx has no import.meta.glob). */
function loadModules(): Record<string, () => Promise<any>> {
  const modules: Record<string, () => Promise<any>> = {};
  const add = (rel: string) => {
    const url = pathToFileURL(join(CONVEX_DIR, rel)).href;
    modules[`./${rel}`] = () => import(url);
  };
  for (const f of readdirSync(CONVEX_DIR)) {
    if (/^[^.]+\.ts$/.test(f)) add(f);
  }
  for (const f of readdirSync(join(CONVEX_DIR, "_generated"))) {
    if (f.endsWith(".js")) add(`_generated/${f}`);
  }
  return modules;
}

type Kind = "query" | "mutation" | "action";
const KIND_NAME: Record<Kind, string> = { query: "Query", mutation: "Mutation", action: "Action" };
class HttpError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

export async function startEmulator(opt: Options) {
  const schema = (await import(pathToFileURL(join(CONVEX_DIR, "schema.ts")).href)).default;
  const modules = loadModules();
  const t = convexTest({ schema, modules, transactionLimits: true });
  const tableNames = Object.keys(schema.tables);
  if (opt.statePath) {
    const tables = readStateFile(opt.statePath);
    if (tables) await restoreState(t, tables);
  }

  // One request at a time, like convex-test itself; persistence happens
  // inside the same turn so a reply always follows a durable commit.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>) => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };

  async function resolveFunction(path: string, kind: Kind) {
    if (!/^[A-Za-z0-9_\-/.]+(:[A-Za-z0-9_]+)?$/.test(path)) {
      throw new HttpError(400, "BadConvexFunctionIdentifier",
        `${path} is not a valid path to a Convex function.`);
    }
    const [file, name = "default"] = path.split(":");
    const modPath = `./${file.replace(/\.js$/, "")}.ts`;
    const loader = file.startsWith("_") ? undefined : modules[modPath];
    const fn = loader ? (await loader())[name] : undefined;
    const canonical = `${file.replace(/\.js$/, "")}:${name}`;
    if (!fn || !fn.isPublic) return { error: `Could not find public function for '${canonical}'.` };
    const actual: Kind = fn.isQuery ? "query" : fn.isMutation ? "mutation" : "action";
    if (actual !== kind) {
      // convex-backend prints the canonicalized path (with ".js") here.
      const withJs = `${file.replace(/\.js$/, "")}.js:${name}`;
      return { error: `Trying to execute ${withJs} as ${KIND_NAME[kind]}, but it is defined as ${KIND_NAME[actual]}.` };
    }
    return { ref: makeFunctionReference<any>(canonical) };
  }

  function checkAuth(req: IncomingMessage) {
    const header = req.headers.authorization;
    if (header === undefined) {
      if (opt.allowAnonymous || opt.adminKey === null) return;
      throw new HttpError(401, "Unauthenticated",
        "This emulator requires `Authorization: Convex <admin key>` (start it with --allow-anonymous to accept anonymous calls like a real deployment)");
    }
    if (header.slice(0, 7).toLowerCase() === "convex ") {
      const given = Buffer.from(header.slice(7));
      const want = Buffer.from(opt.adminKey ?? "");
      if (opt.adminKey === null || given.length !== want.length || !timingSafeEqual(given, want)) {
        throw new HttpError(401, "BadAdminKey", "The provided admin key was invalid for this instance");
      }
      return;
    }
    if (!opt.allowAnonymous) {
      throw new HttpError(401, "Unauthenticated", "This emulator accepts only admin keys");
    }
  }

  async function callFunction(kind: Kind, body: any) {
    if (typeof body !== "object" || body === null || typeof body.path !== "string" || !("args" in body)) {
      throw new HttpError(400, "BadJsonBody", "Failed to deserialize the JSON body: expected {path, args, format?}");
    }
    let rawArgs = body.args;
    if (Array.isArray(rawArgs)) rawArgs = rawArgs[0] ?? {}; // legacy positional form
    const args = jsonToConvex(rawArgs ?? {});
    const found = await resolveFunction(body.path, kind);
    if ("error" in found) return { status: "error", errorMessage: found.error };
    try {
      const value =
        kind === "query" ? await t.query(found.ref, args as any)
        : kind === "mutation" ? await t.mutation(found.ref, args as any)
        : await t.action(found.ref, args as any);
      if (kind !== "query" && opt.statePath) {
        writeStateFile(opt.statePath, await dumpState(t, tableNames));
      }
      return { status: "success", value: convexToJson(value === undefined ? null : (value as any)) };
    } catch (e: any) {
      if (e instanceof ConvexError) {
        return { status: "error", errorMessage: e.message, errorData: convexToJson(e.data) };
      }
      const msg = String(e?.message ?? e);
      // The real backend reports bad arguments as ArgumentValidationError.
      if (/^(Validator error|ArgumentValidationError)/.test(msg)) {
        return { status: "error", errorMessage: `ArgumentValidationError: ${msg.replace(/^ArgumentValidationError: /, "")}` };
      }
      return { status: "error", errorMessage: `Uncaught Error: ${msg}` };
    }
  }

  function send(res: ServerResponse, status: number, body: unknown, text = false) {
    const payload = text ? String(body) : JSON.stringify(body);
    res.writeHead(status, { "Content-Type": text ? "text/plain; charset=utf-8" : "application/json" });
    res.end(payload);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, "RequestTooLarge", "Request body too large");
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (req.method === "GET" && url.pathname === "/instance_name") return send(res, 200, opt.instanceName, true);
      if (req.method === "GET" && url.pathname === "/instance_version") return send(res, 200, EMULATOR_VERSION, true);
      if (req.method === "GET" && url.pathname === "/") {
        return send(res, 200, "This Convex deployment is running. See https://docs.convex.dev/.", true);
      }
      const m = /^\/api\/(query|mutation|action)$/.exec(url.pathname);
      if (!m) return send(res, 404, "", true);
      if (req.method !== "POST") return send(res, 405, "", true);
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (e: any) {
        throw new HttpError(400, "BadJsonBody", `Failed to parse the request body as JSON: ${e.message}`);
      }
      checkAuth(req);
      const result = await serial(() => callFunction(m[1] as Kind, body));
      const delay = slowAnswerMs(opt, body);
      if (delay > 0) await new Promise((ok) => setTimeout(ok, delay));
      send(res, 200, result);
    } catch (e: any) {
      if (e instanceof HttpError) send(res, e.status, { code: e.code, message: e.message });
      else send(res, 500, { code: "InternalServerError", message: String(e?.message ?? e) });
    }
  });

  await new Promise<void>((ok) => server.listen(opt.port, opt.host, ok));
  const port = (server.address() as { port: number }).port;

  async function stop() {
    await new Promise<void>((ok) => server.close(() => ok()));
    await queue; // the request in flight commits and persists first
  }
  return { port, stop, server };
}

/** How long to hold the answer to this call back (`--slow-batch-rows`, `--slow-batch-ms`). */
function slowAnswerMs(opt: Options, body: any): number {
  if (!opt.slowBatchMs || body?.path !== "sync:applyBatch") return 0;
  const rows = (body.args?.threads?.length ?? 0) + (body.args?.messages?.length ?? 0);
  return rows > opt.slowBatchRows ? opt.slowBatchMs : 0;
}

async function main() {
  const opt = parseOptions(process.argv.slice(2), process.env);
  const emu = await startEmulator(opt);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    emu.server.closeAllConnections?.();
    emu.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  process.stdout.write(`LISTENING ${emu.port}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`convex emulator: ${e?.stack ?? e}\n`);
    process.exit(2);
  });
}
