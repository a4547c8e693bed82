/**
 * The server's public face: build the app, or start it on a port, and the
 * one line each refusal to start is told with ({@link orRefuse}).
 *
 * {@link startServer} binds first and builds the app second, so an
 * ephemeral port (`PORT=0`, used by tests, the demo and the benchmark) is
 * known before `PUBLIC_URL` and the Origin allow-list are derived from it.
 * Whoever starts it for real (`main.ts`, the demo) opens the state and
 * verifies its secret before (`verifyStateSecrets`), so nothing answers,
 * not even `/healthz`, until both are known good.
 */
import { type Config, ConfigError, loadConfig } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import { SecretMismatchError, type SharedState, type StateSecrets } from "../state/mod.ts";
import type { AnyTool } from "../tools/mod.ts";
import { type App, createApp } from "./app.ts";

export { type App, createApp } from "./app.ts";
export { verifyStateSecrets } from "./secrets.ts";

/** Options of {@link startServer}. */
export interface StartOptions {
  /** Environment variables; validated here (throws `ConfigError`). */
  env: Readonly<Record<string, string | undefined>>;
  tools: readonly AnyTool[];
  logger?: Logger;
  /** State shared between instances (default: in this process). */
  state?: SharedState;
  /** The master secret, verified against `state` (default: verified on first use). */
  secrets?: StateSecrets;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL clients use (`PUBLIC_URL`). */
  url: string;
  /** The address actually bound. */
  addr: Deno.NetAddr;
  config: Config;
  app: App;
  /** Stop accepting, let in-flight requests finish, close. */
  shutdown(): Promise<void>;
  finished: Promise<void>;
}

/**
 * Listen on the configured address and serve the app. Throws `ConfigError`
 * for a bad value and {@link ListenError} when the address cannot be bound.
 */
export function startServer(options: StartOptions): RunningServer {
  const initial = loadConfig(options.env);
  const late: { app?: App } = {};
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: initial.bindHost, port: initial.port, onListen: () => {} },
      (request, info) => (late.app as App).fetch(request, info),
    );
  } catch (error) {
    throw new ListenError(initial.bindHost, initial.port, error);
  }
  const addr = server.addr as Deno.NetAddr;
  const config: Config = {
    ...initial,
    port: addr.port,
    publicUrl: options.env.PUBLIC_URL?.trim() ? initial.publicUrl : `http://localhost:${addr.port}`,
  };
  const app = late.app = createApp({
    config,
    tools: options.tools,
    logger: options.logger,
    state: options.state,
    secrets: options.secrets,
  });
  return {
    url: config.publicUrl,
    addr,
    config,
    app,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}

/** The configured address cannot be listened on: one line with the cause and the way out. */
export class ListenError extends Error {
  constructor(host: string, port: number, cause: unknown) {
    super(`Cannot listen on ${host}:${port}: ${listenRemedy(host, cause)}`, { cause });
    this.name = "ListenError";
  }
}

function listenRemedy(host: string, error: unknown): string {
  const reason = (error instanceof Error ? error.message.split("\n")[0] : undefined) ??
    String(error);
  const elsewhere = "set BIND_HOST to an address of this machine (127.0.0.1: this machine only; " +
    "0.0.0.0: every interface).";
  if (error instanceof Deno.errors.AddrInUse) {
    return "the port is already in use (another server?). Stop that one, or set PORT to a free " +
      "port (PORT=0 picks one).";
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `BIND_HOST ${JSON.stringify(host)} is not an address of this machine: ${elsewhere}`;
  }
  if (/lookup address|name or service|dns/i.test(reason)) {
    return `BIND_HOST ${JSON.stringify(host)} does not resolve (${reason}): ${elsewhere}`;
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `Deno's permissions do not allow it (${reason}): run with --allow-net.`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `permission denied (${reason}): use a PORT above 1023, or give the process the ` +
      "right to bind low ports.";
  }
  return `${reason}. Check PORT and BIND_HOST.`;
}

/** The one line a refusal to start is told with; `undefined` for an error that is a bug. */
export function refusalLine(error: unknown): string | undefined {
  const refusal = error instanceof ConfigError || error instanceof SecretMismatchError ||
    error instanceof ListenError;
  return refusal ? error.message : undefined;
}

/**
 * Run one start-up step. A refusal (a bad value, a state database or secret
 * that cannot be used, an address that cannot be bound) prints its one line
 * on stderr, runs `cleanup` and exits with code 1; anything else is thrown.
 */
export async function orRefuse<T>(
  step: () => T | Promise<T>,
  cleanup?: () => Promise<unknown>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const line = refusalLine(error);
    if (line === undefined) throw error;
    console.error(line);
    await cleanup?.().catch(() => {});
    Deno.exit(1);
  }
}
