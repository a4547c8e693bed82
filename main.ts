/**
 * Entry point: `deno task start`. Reads the configuration, opens Deno KV,
 * serves until SIGINT/SIGTERM, then drains in-flight requests (at most
 * `SHUTDOWN_TIMEOUT_MS`) and exits 0, or 1 when the drain was cut short.
 */
import { type Config, ConfigError, loadConfig, readEnv } from "./core/config.ts";
import { Logger } from "./core/log.ts";
import { startServer } from "./server/mod.ts";
import { kvState, memoryState, SecretMismatchError } from "./state/mod.ts";
import { TOOLS } from "./tools/mod.ts";

/** Open Deno KV as `KV_PATH` says: empty → Deno's default database, `off` → none. */
async function openKv(config: Config): Promise<Deno.Kv | null> {
  if (config.kvPath === "off") return null;
  if (typeof Deno.openKv !== "function") return null;
  try {
    return await Deno.openKv(config.kvPath || undefined);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new ConfigError(
      "KV_PATH",
      `a Deno KV database this process can open (${reason})`,
      config.kvPath,
    );
  }
}

/** Configuration and KV, or one line on stderr and exit code 1. */
async function prepare(
  env: Record<string, string | undefined>,
): Promise<{ config: Config; kv: Deno.Kv | null }> {
  try {
    const config = loadConfig(env);
    return { config, kv: await openKv(config) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  const env = readEnv();
  const { config, kv } = await prepare(env);
  const logger = new Logger(config.logLevel);
  if (Deno.env.get("DENO_DEPLOY") && !env.PUBLIC_URL?.trim()) {
    logger.warn("PUBLIC_URL is not set", {
      hint:
        "set it to this app's https URL: the OAuth metadata and HLR callbacks are built from it",
    });
  }
  const state = kv ? kvState(kv) : memoryState();
  const server = startServer({ env, tools: TOOLS, logger, state });
  try {
    await server.app.ready();
  } catch (error) {
    if (!(error instanceof SecretMismatchError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
  logger.info("listening", {
    address: `${server.addr.hostname}:${server.addr.port}`,
    public_url: server.url,
    upstream: config.vertexApiUrl,
    state: state.kind,
    sms_test_mode: config.smsTestMode,
  });
  if (config.smsTestMode !== "off") {
    logger.warn("SMS test mode", {
      sms_test_mode: config.smsTestMode,
      hint: `every send_sms goes to VertexSMS with testMode ${
        config.smsTestMode === "delivered"
          ? "1 (simulated as delivered)"
          : "2 (simulated as failed)"
      }: no real SMS is sent; unset SMS_TEST_MODE to send for real`,
    });
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second signal does not wait any longer.
      logger.warn("stopped without draining", { signal });
      Deno.exit(1);
    }
    stopping = true;
    logger.info("shutting down", { signal, timeout_ms: config.shutdownTimeoutMs });
    const drained = await Promise.race([
      server.shutdown().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), config.shutdownTimeoutMs)),
    ]);
    await state.close();
    kv?.close();
    logger.info("stopped", { drained });
    Deno.exit(drained ? 0 : 1);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}
