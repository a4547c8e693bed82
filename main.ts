/**
 * Entry point: `deno task start`. Reads the configuration, opens Deno KV,
 * serves until SIGINT/SIGTERM, then drains in-flight requests and exits 0.
 */
import { ConfigError, loadConfig, Logger, readEnv, startServer } from "./server/mod.ts";
import { TOOLS } from "./tools/mod.ts";

/** How long a shutdown waits for in-flight requests before giving up. */
const DRAIN_MS = 30_000;

/** Open Deno KV as `KV_PATH` says: unset → Deno's default database, `off` → none. */
async function openKv(path: string | undefined): Promise<Deno.Kv | null> {
  if (path === "off") return null;
  if (typeof Deno.openKv !== "function") return null;
  return await Deno.openKv(path || undefined);
}

if (import.meta.main) {
  const env = readEnv();
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
  const logger = new Logger(config.logLevel);
  if (Deno.env.get("DENO_DEPLOY") && !env.PUBLIC_URL?.trim()) {
    logger.warn("PUBLIC_URL is not set", {
      hint:
        "set it to this app's https URL: the OAuth metadata and HLR callbacks are built from it",
    });
  }
  const kv = await openKv(Deno.env.get("KV_PATH"));
  const server = startServer({ env, tools: TOOLS, logger, kv });
  logger.info("listening", {
    address: `${server.addr.hostname}:${server.addr.port}`,
    public_url: server.url,
    upstream: config.vertexApiUrl,
    kv: kv ? "on" : "off",
  });
  const stop = async (signal: string) => {
    logger.info("shutting down", { signal });
    const drained = await Promise.race([
      server.shutdown().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), DRAIN_MS)),
    ]);
    kv?.close();
    logger.info("stopped", { drained });
    Deno.exit(drained ? 0 : 1);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}
