/**
 * Child processes for the suites and tasks that run something real as its
 * own process (the server via `main.ts`, the compiled binary, the MCP
 * Inspector): start it, wait for the line saying it is ready, stop it.
 */

import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import devConfig from "../dev.json" with { type: "json" };

/** The repository root, as a path. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** The development configuration: deno.json's imports plus the test tools (lockfile `dev.lock`). */
export const DEV_CONFIG = `${ROOT}dev.json`;

/** `npm:<name>@<version>` of a package pinned in `dev.json`. */
export function devPackage(name: keyof typeof devConfig.imports): string {
  return devConfig.imports[name];
}

/**
 * `deno run` arguments for an npm program pinned in `dev.json`, resolved
 * against its frozen lockfile (`deno.json`'s lockfile holds only what
 * `main.ts` imports, so the program must not be resolved against it).
 */
export function devProgram(
  name: keyof typeof devConfig.imports,
  ...programArgs: string[]
): string[] {
  return [
    "run",
    "--config",
    DEV_CONFIG,
    "--frozen",
    "--allow-all",
    devPackage(name),
    ...programArgs,
  ];
}

/** A started process whose readiness line has been seen. */
export interface Started {
  /** The match of the readiness pattern. */
  ready: RegExpMatchArray;
  /** The process id (of `command` itself: a wrapper such as `taskset` execs the program). */
  pid: number;
  /** SIGTERM, then wait for the exit (output is drained meanwhile). */
  stop(): Promise<Deno.CommandStatus>;
}

/** Options of {@link spawnListening}. */
export interface ListeningOptions {
  args: string[];
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  cwd?: URL | string;
  /** Ready once 127.0.0.1:`port` accepts a connection. */
  port: number;
  /** Give up (and kill the process) after this long. */
  timeoutMs?: number;
}

/** A started process listening on its port. */
export interface Listening {
  pid: number;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Start `command` with its stdout discarded (a benchmarked server's log lines
 * must not cost the reader anything) and resolve once its port accepts
 * connections; throw if it exits or times out first.
 */
export async function spawnListening(
  command: string,
  options: ListeningOptions,
): Promise<Listening> {
  const child = new Deno.Command(command, {
    args: options.args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    return await child.status;
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline && !exited) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: options.port })).close();
      return { pid: child.pid, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const status = await stop();
  throw new Error(`${command} ${options.args.join(" ")} did not listen (exit ${status.code})`);
}

/** Options of {@link spawnUntil}. */
export interface SpawnOptions {
  args: string[];
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  cwd?: URL | string;
  /** Stdout is read until this matches (multi-line flag recommended). */
  ready: RegExp;
  /** Give up (and kill the process) after this long. */
  timeoutMs?: number;
}

/** A free loopback port, for programs that cannot take port 0. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Start `command` and resolve once its stdout matches `ready`; throw with its output otherwise. */
export async function spawnUntil(command: string, options: SpawnOptions): Promise<Started> {
  const child = new Deno.Command(command, {
    args: options.args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const kill = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
  };
  const timer = setTimeout(kill, options.timeoutMs ?? 60_000);
  let seen = "";
  let ready: RegExpMatchArray | null = null;
  try {
    while (!ready) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value;
      ready = seen.match(options.ready);
    }
  } finally {
    clearTimeout(timer);
  }
  if (!ready) {
    kill();
    const status = await child.status;
    throw new Error(
      `${command} exited (${status.code}) before it was ready:\n${seen}\n${await stderr}`,
    );
  }
  // Keep draining stdout so the pipe never fills up.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    ready,
    pid: child.pid,
    stop: async () => {
      kill();
      const status = await child.status;
      await drained;
      await stderr;
      return status;
    },
  };
}

/** `deno task start`'s permissions: `--allow-env` narrowed to the variables the server reads. */
export const START_FLAGS = denoConfig.tasks.start.split(" ").filter((a) =>
  a.startsWith("--allow-")
);

/** A Deno program run as a child process, its output collected line by line. */
export interface Spawned {
  child: Deno.ChildProcess;
  /** Every line of stdout and stderr so far. */
  lines: string[];
  /** The first JSON log line with this `msg` (waits for it, or fails when output ends). */
  line(msg: string): Promise<Record<string, unknown>>;
  /** Resolves once both streams ended. */
  done: Promise<unknown>;
  /** Kill it if it still runs, and wait for its output to end. */
  reap(): Promise<void>;
}

/** Run `deno <args>` in the repository with `env` added, its output collected. */
export function spawnDeno(args: string[], env: Record<string, string>): Spawned {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", ...env },
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let changed = () => {};
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
      changed();
    }
    if (rest) lines.push(rest);
    changed();
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const line = async (msg: string): Promise<Record<string, unknown>> => {
    let ended = false;
    done.then(() => ended = true);
    for (;;) {
      for (const l of lines) {
        if (l.startsWith("{") && JSON.parse(l).msg === msg) return JSON.parse(l);
      }
      if (ended) throw new Error(`no "${msg}" line in:\n${lines.join("\n")}`);
      await new Promise<void>((resolve) => changed = resolve);
    }
  };
  const reap = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await done;
  };
  return { child, lines, line, done, reap };
}

/** `main.ts` as `deno task start` runs it (on a free loopback port, KV off unless set). */
export function spawnMain(
  env: Record<string, string>,
  flags = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
): Spawned {
  const defaults = { PORT: "0", BIND_HOST: "127.0.0.1", KV_PATH: "off" };
  return spawnDeno(["run", ...flags, "main.ts"], { ...defaults, ...env });
}

/** Wait for `spawned` to exit, expect exit code 1 and return its one line of output. */
export async function refusedAtStart(
  spawned: Spawned | Record<string, string>,
): Promise<string> {
  const program = "child" in spawned ? spawned as Spawned : spawnMain(spawned);
  const status = await program.child.status;
  await program.done;
  assert.equal(status.code, 1, program.lines.join("\n"));
  const output = program.lines.filter((l) => l.trim() !== "");
  assert.equal(output.length, 1, output.join("\n"));
  return output[0]!;
}
