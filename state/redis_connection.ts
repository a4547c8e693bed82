/**
 * Connections to Redis, and what every Redis-backed part of the shared
 * state shares: the commands it sends ({@link Connection}), Lua scripts sent
 * by hash ({@link Script}), and {@link guarded}, which makes any failure
 * `UPSTREAM_UNAVAILABLE`.
 *
 * Failing closed: commands are never queued while the connection is down,
 * and a server that stops answering is noticed by a socket timeout, so every
 * state operation fails within seconds with `UPSTREAM_UNAVAILABLE`
 * ({@link stateUnavailable}) instead of letting a billable call pass
 * unguarded. The client reconnects by itself; the next call works again.
 */
import type { Logger } from "../core/log.ts";
import { stateUnavailable } from "./errors.ts";

/** What the backend is called in errors and logs. */
export const BACKEND = "Redis";

/** The commands this module sends, as `@redis/client` connections offer them. */
export interface Connection {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  close(): Promise<unknown>;
  destroy(): unknown;
  readonly isReady: boolean;
}

/** A Lua script, sent by hash and loaded again when the server forgot it (a restart). */
export class Script {
  #sha: Promise<string> | undefined;

  constructor(readonly source: string) {}

  async run(connection: Connection, keys: string[], args: string[]): Promise<unknown> {
    this.#sha ??= sha1(this.source);
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await connection.sendCommand(["EVALSHA", await this.#sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return await connection.sendCommand(["EVAL", this.source, ...tail]);
    }
  }
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Run one state operation; any failure becomes {@link stateUnavailable}. */
export async function guarded<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw stateUnavailable(BACKEND, error);
  }
}

/** `@redis/client`'s `createClient` (a type only: the caller imports it when Redis is used). */
export type CreateClient = typeof import("@redis/client").createClient;

/** How {@link openConnection} connects (see `RedisStateOptions`). */
export interface ConnectionOptions {
  url: string;
  password?: string;
  socketTimeoutMs?: number;
  connectTimeoutMs?: number;
  logger?: Logger;
}

/**
 * A connection, not connected yet. `role` names it in logs; `replies` is
 * false for the subscriber. It logs one line per outage and one when the
 * outage is over.
 */
export function openConnection(
  createClient: CreateClient,
  role: string,
  replies: boolean,
  options: ConnectionOptions,
): Connection {
  const logger = options.logger;
  let ready = false;
  let down = false;
  const client = createClient({
    // The client prefers a password in the URL to its `password` option: drop the URL's.
    url: options.password ? withoutUrlPassword(options.url) : options.url,
    ...(options.password ? { password: options.password } : {}),
    // Without this, the client reads two environment variables (more --allow-env).
    maintNotifications: "disabled",
    // Fail fast: while disconnected, commands are refused instead of queued.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      // A request connection that hears nothing for this long is dropped (a hung server);
      // the subscriber legitimately hears nothing for hours.
      ...(replies ? { socketTimeout: options.socketTimeoutMs ?? 3000 } : {}),
      // Never give up once connected (the default strategy gives up on a socket timeout);
      // at start, give up after three quick tries so a wrong URL stops the start.
      reconnectStrategy: (retries: number, cause: Error) =>
        !ready && retries >= 3 ? cause : Math.min(50 * 2 ** retries, 500),
    },
    // Keeps an idle request connection from tripping its own socket timeout.
    ...(replies ? { pingInterval: 1000 } : {}),
  }) as unknown as Connection;
  client.on("ready", () => {
    ready = true;
    if (down) logger?.info("shared state reconnected", { state: "redis", connection: role });
    down = false;
  });
  client.on("error", (error: Error) => {
    // One line per outage, not one per reconnection attempt.
    if (!ready || down) return;
    down = true;
    logger?.warn("shared state connection lost", {
      state: "redis",
      connection: role,
      error: `${error.name}: ${error.message}`.slice(0, 200),
    });
  });
  return client;
}

/** `url` without its password (the user name, if any, stays). */
function withoutUrlPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return parsed.href;
}
