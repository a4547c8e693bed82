/**
 * The server's public face: build the app, or start it on a port.
 *
 * {@link startServer} listens first and builds the app second, so an
 * ephemeral port (`PORT=0`, used by tests, the demo and the benchmark) is
 * known before `PUBLIC_URL` and the Origin allow-list are derived from it.
 */
import { type Config, loadConfig } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import type { SharedState } from "../state/mod.ts";
import type { AnyTool } from "../tools/mod.ts";
import { type App, createApp } from "./app.ts";

export { type App, createApp } from "./app.ts";

/** Options of {@link startServer}. */
export interface StartOptions {
  /** Environment variables; validated here (throws `ConfigError`). */
  env: Readonly<Record<string, string | undefined>>;
  tools: readonly AnyTool[];
  logger?: Logger;
  /** State shared between instances (default: in this process). */
  state?: SharedState;
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

/** Listen on the configured address and serve the app. */
export function startServer(options: StartOptions): RunningServer {
  const initial = loadConfig(options.env);
  const late: { app?: App } = {};
  const server = Deno.serve(
    { hostname: initial.bindHost, port: initial.port, onListen: () => {} },
    (request, info) => (late.app as App).fetch(request, info),
  );
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
