/**
 * Record mode, recorded from the fake itself: the written files replay the
 * same answers, the recordings it does not own are kept, and no token is
 * ever written. `--reports`: the delivery reports of two testMode sends are
 * captured on a local listener, scrubbed, written into `sms.json`, and the
 * fake replays them.
 */
import assert from "node:assert/strict";
import { parseDeliveryReport, READ_PATHS } from "../vertex/mod.ts";
import { DEMO_TOKENS, startFake } from "../testing/fake/mod.ts";
import { loadRecordings, RECORDINGS_DIR } from "../testing/fake/recordings.ts";
import { freePort } from "../testing/process.ts";
import { type Probe, PROBES, record } from "./record.ts";
import { recordReports } from "./record_reports.ts";

/** A temp copy of the committed recordings. */
async function copyOfRecordings(): Promise<URL> {
  const dir = await Deno.makeTempDir({ prefix: "recordings-" });
  for (const entry of Deno.readDirSync(RECORDINGS_DIR)) {
    await Deno.copyFile(new URL(entry.name, RECORDINGS_DIR), `${dir}/${entry.name}`);
  }
  return new URL(`file://${dir}/`);
}

const pathOf = (probe: Probe) =>
  (READ_PATHS[probe.endpoint] as (...a: unknown[]) => string)(...probe.args);

async function get(base: string, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base + path, { headers: { "X-VertexSMS-Token": DEMO_TOKENS.full } });
  return { status: res.status, body: await res.json() };
}

Deno.test("record mode: files recorded from the fake replay its answers identically", async () => {
  const source = startFake();
  const dir = await copyOfRecordings();
  try {
    const files = await record({ apiUrl: source.url, token: DEMO_TOKENS.full, dir, log: () => {} });
    assert.deepEqual(files.map((f) => f.split("/").pop()).sort(), ["numbers.json", "rates.json"]);
    assert.deepEqual(
      source.requests.map((r) => `${r.method} ${r.path} ${r.token === DEMO_TOKENS.full}`),
      PROBES.map((p) => `GET ${pathOf(p)} true`),
      "one read-only GET per probe, with the token header",
    );

    const replay = startFake({ recordings: loadRecordings(dir) });
    try {
      for (const probe of PROBES) {
        const path = pathOf(probe);
        const [want, got] = [await get(source.url, path), await get(replay.url, path)];
        assert.deepEqual(got, want, `replayed ${path}`);
      }
      // Wildcard recordings answer other misses the same way.
      assert.deepEqual(await get(replay.url, "/operators/12345"), {
        status: 404,
        body: { message: "Operator not found." },
      });
    } finally {
      await replay.shutdown();
    }

    const probed = new Set(PROBES.map((p) => p.name));
    const before = loadRecordings().filter((r) => !probed.has(r.name));
    const after = loadRecordings(dir).filter((r) => !probed.has(r.name));
    assert.ok(before.length > 0);
    assert.deepEqual(after, before, "sends, senders, HLR and corrections are kept as they were");
    for (const file of files) {
      assert.ok(!(await Deno.readTextFile(file)).includes(DEMO_TOKENS.full));
    }
  } finally {
    await source.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record mode: a token echoed by the upstream is redacted, text answers kept as text", async () => {
  const source = startFake();
  const dir = await copyOfRecordings();
  try {
    source.inject({
      route: "GET /prefixes/LT",
      kind: "status",
      status: 200,
      body: [{ prefix: "3706", echo: `token ${DEMO_TOKENS.full}` }],
    });
    source.inject({ route: "GET /prefixes/AQ", kind: "not-json" });
    await record({ apiUrl: source.url, token: DEMO_TOKENS.full, dir, log: () => {} });
    const byName = new Map(loadRecordings(dir).map((r) => [r.name, r]));
    assert.deepEqual(byName.get("prefixes-lt")?.response.body, [
      { prefix: "3706", echo: "token [REDACTED]" },
    ]);
    const text = byName.get("prefixes-other")?.response;
    assert.equal(text?.body, undefined);
    assert.match(text?.text ?? "", /502 Bad Gateway/);
    for (const entry of Deno.readDirSync(dir)) {
      const content = await Deno.readTextFile(new URL(entry.name, dir));
      assert.ok(!content.includes(DEMO_TOKENS.full), `${entry.name} holds the token`);
    }
  } finally {
    await source.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record mode --reports: testMode reports captured, scrubbed, written, and replayed", async () => {
  // The source's reports carry the number and the token, to prove both are scrubbed.
  const source = startFake({
    recordings: loadRecordings().map((r) =>
      r.report && r.name.startsWith("sms-test-")
        ? {
          ...r,
          report: {
            ...r.report,
            encoding: r.name === "sms-test-failed" ? "form" : r.report.encoding,
            body: { ...r.report.body, msisdn: "37069912345", echo: `t ${DEMO_TOKENS.full}` },
          },
        }
        : r
    ),
    reportDelayMs: 20,
  });
  const dir = await copyOfRecordings();
  try {
    const port = freePort();
    const file = await recordReports({
      apiUrl: source.url,
      token: DEMO_TOKENS.full,
      to: "+37069912345",
      from: "VertexSMS",
      publicUrl: `http://127.0.0.1:${port}`,
      hostname: "127.0.0.1",
      port,
      waitMs: 10_000,
      dir,
      log: () => {},
    });
    const sends = source.requests.filter((r) => r.path === "/sms");
    assert.deepEqual(
      sends.map((r) => r.testMode),
      ["1", "2"],
      "two simulated sends, nothing billed",
    );
    const text = await Deno.readTextFile(file);
    assert.ok(!text.includes(DEMO_TOKENS.full), "no token written");
    assert.ok(!text.includes("37069912345"), "no number written");
    const byName = new Map(loadRecordings(dir).map((r) => [r.name, r]));
    const delivered = byName.get("sms-test-delivered")!.report!;
    const failed = byName.get("sms-test-failed")!.report!;
    assert.equal(delivered.encoding, undefined, "JSON");
    assert.equal(failed.encoding, "form");
    assert.equal(delivered.body.msisdn, "37060000000");
    assert.equal(delivered.body.echo, "t [REDACTED]");
    assert.match(
      byName.get("sms-test-delivered")!.note ?? "",
      /captured by deno task record --reports/,
    );
    assert.equal(parseDeliveryReport({ ...delivered.body, id: "1" })?.status, "delivered");
    assert.equal(parseDeliveryReport({ ...failed.body, id: "1" })?.status, "undelivered");

    // The fake replays what was captured for testMode sends.
    const replay = startFake({ recordings: loadRecordings(dir), reportDelayMs: 10 });
    const got: string[] = [];
    const listener = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (r) => {
        got.push(`${r.headers.get("content-type")} ${await r.text()}`);
        return new Response("OK");
      },
    );
    try {
      const res = await fetch(`${replay.url}/sms`, {
        method: "POST",
        headers: { "X-VertexSMS-Token": DEMO_TOKENS.full, "Content-Type": "application/json" },
        body: JSON.stringify({
          to: "37069912345",
          from: "Shop",
          message: "hi",
          testMode: "2",
          dlrUrl: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/r`,
        }),
      });
      const [id] = await res.json();
      while (got.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.equal(
        got[0],
        `application/x-www-form-urlencoded id=${id}&status=2&error=1&mcc=246&mnc=001&` +
          "msisdn=37060000000&echo=t+%5BREDACTED%5D",
      );
    } finally {
      await listener.shutdown();
      await replay.shutdown();
    }
    const others = (rs: ReturnType<typeof loadRecordings>) =>
      rs.filter((r) => !r.name.startsWith("sms-test-"));
    assert.deepEqual(others(loadRecordings(dir)), others(loadRecordings()), "the rest kept");
  } finally {
    await source.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
