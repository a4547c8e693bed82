/**
 * Entry point: `deno task start`. Reads the configuration, opens the shared
 * state (Redis per `STATE_URL`, else Deno KV per `KV_PATH`), serves until
 * SIGINT/SIGTERM, then drains in-flight requests (at most
 * `SHUTDOWN_TIMEOUT_MS`) and exits 0, or 1 when the drain was cut short.
 */
import { loadConfig, readEnv } from "./core/config.ts";
import { Logger, processSink } from "./core/log.ts";
import { orRefuse, startServer, verifyStateSecrets } from "./server/mod.ts";
import { openState } from "./state/mod.ts";
import { TOOLS } from "./tools/mod.ts";

if (import.meta.main) {
  // Each step that can refuse prints one line and exits 1: nothing listens before the
  // configuration, the state and its secret are known good.
  const env = readEnv();
  const config = await orRefuse(() => loadConfig(env));
  const logger = new Logger(
    config.logLevel,
    processSink({
      deploy: Boolean(Deno.env.get("DENO_DEPLOY")),
      otel: Deno.env.get("OTEL_DENO") === "true",
    }),
  );
  const { state, kv } = await orRefuse(() => openState(config, logger));
  const closeState = async () => {
    await state.close();
    kv?.close();
  };
  const secrets = await orRefuse(() => verifyStateSecrets(config, state), closeState);
  if (Deno.env.get("DENO_DEPLOY") && !env.PUBLIC_URL?.trim()) {
    logger.warn("PUBLIC_URL is not set", {
      hint:
        "set it to this app's https URL: the OAuth metadata and HLR callbacks are built from it",
    });
  }
  if (state.kind === "redis" && config.stateSecret === "") {
    logger.warn("STATE_SECRET is not set", {
      hint: "with Redis, set the same STATE_SECRET on every instance: the random one kept in " +
        "Redis is lost if Redis restarts without persistence. Setting it now is a rotation " +
        "from the generated secret: live idempotency records are kept (docs/operations.md)",
    });
  }
  const server = await orRefuse(
    () => startServer({ env, tools: TOOLS, logger, state, secrets }),
    closeState,
  );
  logger.info("listening", {
    address: `${server.addr.hostname}:${server.addr.port}`,
    public_url: server.url,
    upstream: config.vertexApiUrl,
    state: state.kind,
    state_database: state.where,
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
    await closeState();
    logger.info("stopped", { drained });
    Deno.exit(drained ? 0 : 1);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}
