import assert from "node:assert/strict";
import { consoleSink, Logger, processSink } from "./log.ts";

Deno.test("a logger writes one JSON line per event at or above its level", () => {
  const lines: string[] = [];
  const logger = new Logger("info", (line) => lines.push(line));
  logger.debug("hidden");
  logger.info("request", { status: 200, tool: undefined });
  logger.error("failed", { request_id: "r1" });
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.level, "info");
  assert.equal(first.msg, "request");
  assert.equal(first.status, 200);
  assert.equal("tool" in first, false);
  assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(JSON.parse(lines[1]!).request_id, "r1");
});

Deno.test("processSink: console where Deno Deploy or OpenTelemetry collect it, else stdout", () => {
  assert.equal(processSink({ deploy: true, otel: false }), consoleSink);
  assert.equal(processSink({ deploy: false, otel: true }), consoleSink);
  assert.notEqual(processSink({ deploy: false, otel: false }), consoleSink);
});

Deno.test("the stdout sink writes whole lines, long ones included, in order", async () => {
  const script = `
    import { stdoutSink } from ${JSON.stringify(new URL("./log.ts", import.meta.url).href)};
    const sink = stdoutSink();
    sink("first");
    sink("x".repeat(200_000));
    sink('{"msg":"ąčę €"}');
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  assert.deepEqual(lines.map((l) => l.length), [5, 200_000, 15, 0]);
  assert.equal(lines[2], '{"msg":"ąčę €"}');
});
