/**
 * Record mode, recorded from the fake itself: the written files replay the
 * same answers, the recordings it does not own are kept, and no token is
 * ever written.
 */
import assert from "node:assert/strict";
import { READ_PATHS } from "../vertex/mod.ts";
import { DEMO_TOKENS, startFake } from "../testing/fake/mod.ts";
import { loadRecordings, RECORDINGS_DIR } from "../testing/fake/recordings.ts";
import { type Probe, PROBES, record } from "./record.ts";

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
