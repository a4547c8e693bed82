/**
 * Entry point: `deno task start`. Reads the configuration, opens the shared
 * state (Redis per `STATE_URL`, else Deno KV per `KV_PATH`), serves until
 * SIGINT/SIGTERM, then drains in-flight requests (at most
 * `SHUTDOWN_TIMEOUT_MS`) and exits 0, or 1 when the drain was cut short.
 */
import { type Config, ConfigError, loadConfig, readEnv, withoutPassword } from "./core/config.ts";
import { Logger, processSink } from "./core/log.ts";
import { startServer } from "./server/mod.ts";
import {
  kvState,
  memoryState,
  RedisSetupError,
  redisState,
  SecretMismatchError,
  type SharedState,
} from "./state/mod.ts";
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

/**
 * The shared state: Redis when `STATE_URL` is set (`@redis/client` is loaded
 * only then), else Deno KV as `KV_PATH` says, else this process's memory.
 */
async function openState(
  config: Config,
  logger: Logger,
): Promise<{ state: SharedState; kv: Deno.Kv | null }> {
  if (config.stateUrl !== "") {
    const password = config.stateRedisPassword;
    try {
      const state = await redisState({
        url: config.stateUrl,
        ...(password ? { password } : {}),
        logger,
      });
      return { state, kv: null };
    } catch (error) {
      if (!(error instanceof RedisSetupError)) throw error;
      let reason = error.message;
      const secrets = [password, new URL(config.stateUrl).password].filter((p) => p !== "");
      for (const secret of secrets) reason = reason.replaceAll(secret, "***");
      throw new ConfigError(
        "STATE_URL",
        `a Redis server this process can use: ${reason}`,
        withoutPassword(config.stateUrl),
      );
    }
  }
  const kv = await openKv(config);
  return { state: kv ? kvState(kv) : memoryState(), kv };
}

/** Configuration, or one line on stderr and exit code 1. */
function prepare(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  const env = readEnv();
  const config = prepare(env);
  const logger = new Logger(
    config.logLevel,
    processSink({
      deploy: Boolean(Deno.env.get("DENO_DEPLOY")),
      otel: Deno.env.get("OTEL_DENO") === "true",
    }),
  );
  const { state, kv } = await openState(config, logger).catch((error) => {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  });
  if (Deno.env.get("DENO_DEPLOY") && !env.PUBLIC_URL?.trim()) {
    logger.warn("PUBLIC_URL is not set", {
      hint:
        "set it to this app's https URL: the OAuth metadata and HLR callbacks are built from it",
    });
  }
  if (state.kind === "redis" && config.stateSecret === "") {
    logger.warn("STATE_SECRET is not set", {
      hint: "with Redis, set the same STATE_SECRET on every instance: the random one kept in " +
        "Redis is lost if Redis restarts without persistence, and instances started after " +
        "that would use another one than those already running",
    });
  }
  const server = startServer({ env, tools: TOOLS, logger, state });
  try {
    await server.app.ready();
  } catch (error) {
    if (!(error instanceof SecretMismatchError)) throw error;
    console.error(error.message);
    await state.close();
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
