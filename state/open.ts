/**
 * Open the shared state the configuration names: Redis per `STATE_URL`
 * (`@redis/client` is loaded only then), else Deno KV per `KV_PATH`, else
 * this process's memory. The state says which database it is
 * (`SharedState.where`), as refusals and the `listening` line name it.
 */
import { type Config, ConfigError, withoutPassword } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import { RedisSetupError, redisState } from "./redis.ts";
import { kvState, memoryState, type SharedState } from "./shared.ts";

/** The opened state, and the KV handle to close on shutdown (if one was opened). */
export interface OpenedState {
  state: SharedState;
  kv: Deno.Kv | null;
}

/**
 * The shared state of `config`. A database that cannot be used throws a
 * `ConfigError` naming the variable, the database and why.
 */
export async function openState(config: Config, logger?: Logger): Promise<OpenedState> {
  if (config.stateUrl !== "") {
    const password = config.stateRedisPassword;
    const where = withoutPassword(config.stateUrl);
    try {
      const state = await redisState({
        url: config.stateUrl,
        ...(password ? { password } : {}),
        logger,
      });
      state.where = where;
      return { state, kv: null };
    } catch (error) {
      if (!(error instanceof RedisSetupError)) throw error;
      let reason = error.message;
      const secrets = [password, new URL(config.stateUrl).password].filter((p) => p !== "");
      for (const secret of secrets) reason = reason.replaceAll(secret, "***");
      throw new ConfigError("STATE_URL", `a Redis server this process can use: ${reason}`, where);
    }
  }
  if (config.kvPath === "off" || typeof Deno.openKv !== "function") {
    return { state: { ...memoryState(), where: "in this process's memory" }, kv: null };
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(config.kvPath || undefined);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new ConfigError(
      "KV_PATH",
      `a Deno KV database this process can open (${reason})`,
      config.kvPath,
    );
  }
  const where = config.kvPath || await defaultKvPath() ||
    "(Deno's default KV database of this program, in DENO_DIR's location_data folder)";
  return { state: { ...kvState(kv), where }, kv };
}

/**
 * Where Deno keeps the default KV database of this program:
 * `<DENO_DIR>/location_data/<sha-256 of the main module's URL>/kv.sqlite3`,
 * or `undefined` when that cannot be told (an unreadable variable, another
 * platform, a `--location`): the file must exist.
 */
async function defaultKvPath(): Promise<string | undefined> {
  try {
    const env = (name: string) => Deno.env.get(name) || undefined;
    const home = env("HOME");
    const cache = env("XDG_CACHE_HOME") ?? (home && `${home}/.cache`);
    const dirs = env("DENO_DIR")
      ? [env("DENO_DIR")]
      : [cache && `${cache}/deno`, home && `${home}/Library/Caches/deno`];
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(Deno.mainModule),
    );
    const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const exists = (path: string) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    };
    return dirs.map((dir) => `${dir}/location_data/${hash}/kv.sqlite3`)
      .find((path, i) => dirs[i] && exists(path));
  } catch {
    // a variable not readable here: the caller describes the database instead
    return undefined;
  }
}
