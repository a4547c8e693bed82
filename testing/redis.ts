/**
 * A real Redis for the suites: Debian's `redis-server` (or `REDIS_SERVER`),
 * started on a free loopback port with nothing persisted, in a temporary
 * directory; stopped and started again on the same port for the fault
 * tests. Where no `redis-server` is installed, {@link redisTest} registers
 * the test as ignored and says so on the console (`.ci/run` installs it).
 */
import { freePort } from "./process.ts";

/** The server binary: `REDIS_SERVER`, else `redis-server` from `PATH`. */
const BINARY = Deno.env.get("REDIS_SERVER") || "redis-server";

/** Why Redis tests cannot run here, or `null` when they can. */
export const REDIS_MISSING: string | null = (() => {
  try {
    const out = new Deno.Command(BINARY, { args: ["--version"], stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? null : `${BINARY} --version failed`;
  } catch {
    return `${BINARY} is not installed (apt-get install redis-server)`;
  }
})();

let announced = false;

/**
 * `Deno.test`, or an ignored test with the reason printed once, where
 * `redis-server` is missing: never skipped silently.
 */
export function redisTest(name: string, fn: () => Promise<void>): void {
  if (REDIS_MISSING !== null && !announced) {
    announced = true;
    console.log(`SKIPPED: the Redis runs of this file (${REDIS_MISSING})`);
  }
  Deno.test({
    name: REDIS_MISSING === null ? name : `${name} (SKIPPED: ${REDIS_MISSING})`,
    ignore: REDIS_MISSING !== null,
    fn,
  });
}

/** Options of {@link startRedis}. */
export interface RedisOptions {
  /** `--requirepass`. */
  password?: string;
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "64mb"]`. */
  args?: string[];
}

/** A running `redis-server`. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` (no password in it). */
  url: string;
  /** Stop the server (SIGTERM, then wait for it). */
  stop(): Promise<void>;
  /** Start it again on the same port, empty (nothing is persisted). */
  start(): Promise<void>;
  /** Freeze it (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaw it (SIGCONT). */
  resume(): void;
  /** Stop it and remove its directory. */
  close(): Promise<void>;
  /**
   * Send one command on a fresh connection (logged in when a password is
   * set) and return the raw reply (RESP text, e.g. `:59998\r\n`).
   */
  command(...args: string[]): Promise<string>;
  /** Record every command the server receives (`MONITOR`) until `stop`, which returns them. */
  monitor(): Promise<{ stop(): Promise<string> }>;
}

/** Start `redis-server` on a free loopback port and wait until it answers. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  if (REDIS_MISSING !== null) throw new Error(REDIS_MISSING);
  const dir = await Deno.makeTempDir({ prefix: "redis-" });
  const port = freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    "",
    "--loglevel",
    "warning",
    ...(options.password ? ["--requirepass", options.password] : []),
    ...(options.args ?? []),
  ];
  let child: Deno.ChildProcess | null = null;
  const start = async () => {
    if (child) return;
    child = new Deno.Command(BINARY, { args, stdin: "null", stdout: "null", stderr: "null" })
      .spawn();
    const started = child;
    const exited = started.status.then(() => true);
    for (let attempt = 0; attempt < 200; attempt++) {
      if (await Promise.race([exited, Promise.resolve(false)])) {
        child = null;
        throw new Error(`redis-server exited at start (args: ${args.join(" ")})`);
      }
      if (await answers(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`redis-server did not answer on port ${port} within 5 s`);
  };
  const stop = async () => {
    const running = child;
    if (!running) return;
    child = null;
    try {
      running.kill("SIGCONT");
      running.kill("SIGTERM");
    } catch {
      // already exited
    }
    await running.status;
  };
  const signal = (name: Deno.Signal) => {
    if (!child) throw new Error("redis-server is not running");
    child.kill(name);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    close: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    monitor: async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      if (options.password) await exchange(conn, ["AUTH", options.password]);
      const first = await exchange(conn, ["MONITOR"]);
      let seen = first;
      const decoder = new TextDecoder();
      const reading = (async () => {
        const buffer = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) return;
          seen += decoder.decode(buffer.subarray(0, n));
        }
      })();
      return {
        stop: async () => {
          // Let the last commands arrive, then end the session.
          await new Promise((resolve) => setTimeout(resolve, 100));
          conn.close();
          await reading;
          return seen;
        },
      };
    },
    command: async (...command: string[]) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        if (options.password) await exchange(conn, ["AUTH", options.password]);
        return await exchange(conn, command);
      } finally {
        conn.close();
      }
    },
  };
}

/** Write one command in RESP and read its reply (small replies: one read). */
async function exchange(conn: Deno.TcpConn, args: string[]): Promise<string> {
  const encoder = new TextEncoder();
  const parts = args.map((a) => `$${encoder.encode(a).byteLength}\r\n${a}\r\n`);
  await conn.write(encoder.encode(`*${args.length}\r\n${parts.join("")}`));
  const buffer = new Uint8Array(64 * 1024);
  const n = await conn.read(buffer);
  return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
}

/** Whether something on `port` answers a Redis PING (PONG, or a demand to log in first). */
async function answers(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    const reply = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}
