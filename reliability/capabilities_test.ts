/**
 * The capability routes attacked (`http.md`, "Capabilities"): an approval id
 * or an HLR callback id in a log line (any method, spelling or status, routed
 * or not), in the shared state, readable or decided from another origin, or
 * with a body read past 16 KiB. Every test counts the `POST /sms` requests
 * VertexSMS received and prints a `figure capabilities` line.
 */
import assert from "node:assert/strict";
import {
  DEMO_TOKENS,
  type Harness,
  modernCall,
  resultOf,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { SAMPLE_HLR_CALLBACK } from "../testing/samples.ts";

const AUTH = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
const SMS = { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" };
const REQUIRE = { SMS_CONFIRMATION: "require" };
const sends = (h: { fake: Harness["fake"] }) => h.fake.count("POST /sms");

/** A pending approval of `SMS` (or `args`) on `mcpUrl`. */
async function approvalOf(mcpUrl: string, args: Record<string, unknown> = SMS) {
  const asked = (await resultOf(modernCall(mcpUrl, "send_sms", args, AUTH))).structuredContent;
  assert.equal(asked.status, "approval_required");
  return asked as { approval_id: string; approval_url: string };
}

/** Where a `send_sms` with this approval stands (`approval_required` while pending). */
async function statusWith(mcpUrl: string, id: string): Promise<string> {
  const result = await resultOf(modernCall(mcpUrl, "send_sms", { ...SMS, approvalId: id }, AUTH));
  return result.structuredContent?.status ?? JSON.parse(result.content[1].text).error.code;
}

/** The form value of the approval page at `url`. */
async function formTokenOf(url: string): Promise<string> {
  const html = await (await fetch(url)).text();
  return /name="form_token" value="([^"]+)"/.exec(html)![1]!;
}

/** Approve on the page at `url`, as a person's browser does; the answer's status. */
async function approveOn(url: string): Promise<number> {
  return await statusOf(fetch(url, {
    method: "POST",
    headers: { Origin: new URL(url).origin },
    body: new URLSearchParams({ action: "approve", form_token: await formTokenOf(url) }),
    redirect: "manual",
  }));
}

/** A request's status, its body dropped. */
async function statusOf(request: Promise<Response>): Promise<number> {
  const res = await request;
  await res.body?.cancel();
  return res.status;
}

Deno.test("no log line holds a capability, whatever the method, spelling or status; GET, HEAD and OPTIONS change nothing", async () => {
  const h = startHarness({ env: REQUIRE });
  try {
    const { approval_id: id } = await approvalOf(h.mcpUrl);
    const base = h.server.url;
    const spelled = [
      `/approvals/${id}`,
      `/approvals/${id}/`,
      `//approvals/${id}`,
      `/APPROVALS/${id}`,
      `/Approvals/${id}?x=1`,
      `/approvals%2F${id}`,
      `/%61pprovals/${id}`,
      `/approvals;${id}`,
      `/callbacks/hlr/${id}`,
      `/callbacks/hlr//${id}`,
      `/callbacks/dlr/${id}`,
    ];
    const methods = ["GET", "HEAD", "OPTIONS", "DELETE", "PUT", "PATCH", "POST"];
    const statuses = new Set<number>();
    for (const path of spelled) {
      for (const method of methods) {
        statuses.add(await statusOf(fetch(base + path, { method, redirect: "manual" })));
      }
    }
    assert.equal(await statusWith(h.mcpUrl, id), "approval_required", "still pending");
    assert.equal(sends(h), 0);
    const { leaks, lines } = h.scan([{ kind: "approval id", value: id }]);
    assert.deepEqual(leaks, [], "no log line holds the approval id");
    const paths = h.logs.map((l) => JSON.parse(l).path).filter(Boolean);
    assert.ok(paths.includes("/approvals/:id") && paths.includes("/callbacks/dlr/:capability"));
    console.log(
      `figure capabilities: ${spelled.length * methods.length} requests carrying a live approval ` +
        `id (${spelled.length} spellings × ${methods.length} methods, statuses ${
          [...statuses].sort().join("/")
        }) → ${leaks.length} of ${lines} log lines hold it; the approval still pending, ` +
        `${sends(h)} POST /sms`,
    );
  } finally {
    await h.close();
  }
});

Deno.test("no other origin reads an approval or decides one: only the page's own form does", async () => {
  const h = startHarness({ env: REQUIRE });
  try {
    const { approval_id: id, approval_url: url } = await approvalOf(h.mcpUrl);
    const own = new URL(url).origin;
    const evil = "https://evil.example";
    const token = await formTokenOf(url);
    const form = new URLSearchParams({ action: "approve", form_token: token });
    const json = JSON.stringify({ action: "approve", form_token: token });
    const attempts: [string, RequestInit, number][] = [
      ["preflight", {
        method: "OPTIONS",
        headers: {
          Origin: evil,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "content-type",
        },
      }, 404],
      ["JSON view", { headers: { Origin: evil, Accept: "application/json" } }, 200],
      ["JSON, foreign", {
        method: "POST",
        headers: { Origin: evil, "Content-Type": "application/json" },
        body: json,
      }, 403],
      ["JSON, no Origin", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: json,
      }, 403],
      ["JSON, own", {
        method: "POST",
        headers: { Origin: own, "Content-Type": "application/json" },
        body: json,
      }, 415],
      ["text, foreign", {
        method: "POST",
        headers: { Origin: evil, "Content-Type": "text/plain" },
        body: form.toString(),
      }, 403],
      ["text, own", {
        method: "POST",
        headers: { Origin: own, "Content-Type": "text/plain" },
        body: form.toString(),
      }, 415],
      ["multipart, own", { method: "POST", headers: { Origin: own }, body: formData(form) }, 415],
      ["form, foreign", { method: "POST", headers: { Origin: evil }, body: form }, 403],
      ["form, null", { method: "POST", headers: { Origin: "null" }, body: form }, 403],
      ["form, none", { method: "POST", body: form }, 403],
    ];
    for (const [label, init, expected] of attempts) {
      const res = await fetch(url, { ...init, redirect: "manual" });
      const body = await res.text();
      assert.equal(res.status, expected, label);
      assert.equal(res.headers.get("access-control-allow-origin"), null, `${label}: no CORS`);
      assert.ok(!/"form_token"\s*:/.test(body), `${label}: no JSON view`);
    }
    assert.equal(await statusWith(h.mcpUrl, id), "approval_required", "nothing was decided");
    assert.equal(sends(h), 0);
    const mine = await statusOf(fetch(url, {
      method: "POST",
      headers: { Origin: own },
      body: form,
      redirect: "manual",
    }));
    assert.equal(mine, 303, "the page's own form decides");
    assert.equal(await statusWith(h.mcpUrl, id), "sent");
    assert.equal(sends(h), 1);
    console.log(
      `figure capabilities: ${attempts.length} cross-origin reads and decisions (a preflight, the ` +
        "JSON view, JSON, text and multipart posts, forms from another, null or no origin) → 0 " +
        "Access-Control-Allow-Origin, 0 decisions; the page's own form → 1 POST /sms",
    );
  } finally {
    await h.close();
  }
});

/** `fields` as a multipart body. */
function formData(fields: URLSearchParams): FormData {
  const data = new FormData();
  for (const [k, v] of fields) data.set(k, v);
  return data;
}

/**
 * A chunked body of `bytes`, counting what was pulled from it: paced (16 KiB
 * every 2 ms), so that what sits in socket buffers stays small beside what
 * the server reads.
 */
function counted(bytes: number) {
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const seen = { pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (seen.pulled >= bytes) return c.close();
      await new Promise((r) => setTimeout(r, 2));
      seen.pulled += chunk.byteLength;
      c.enqueue(chunk);
    },
  });
  return { body, seen };
}

/** Send only the head of a POST declaring `length` bytes; the status line of the answer. */
async function declaredOnly(base: string, path: string, length: number): Promise<string> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nOrigin: ${base}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`,
    ));
    const buffer = new Uint8Array(4096);
    const timer = setTimeout(() => conn.close(), 5_000);
    const n = await conn.read(buffer).catch(() => null);
    clearTimeout(timer);
    return n ? new TextDecoder().decode(buffer.subarray(0, n)).split("\r\n")[0]! : "no answer";
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

Deno.test("capability bodies are bounded: 24 MiB refused from Content-Length unread, or chunked at 16 KiB", async () => {
  const h = startHarness({ env: REQUIRE });
  const big = 24 * 1024 * 1024;
  try {
    // One approved send, for a live approval and a live delivery-report URL.
    const { approval_id: id, approval_url: url } = await approvalOf(h.mcpUrl);
    assert.equal(await approveOn(url), 303);
    assert.equal(await statusWith(h.mcpUrl, id), "sent");
    const dlrUrl = (h.fake.requests.find((r) => r.path === "/sms")!.body as { dlrUrl: string })
      .dlrUrl;
    const paths = [
      `/approvals/${id}`,
      `/callbacks/hlr/${"A".repeat(43)}`,
      new URL(dlrUrl).pathname,
    ];
    const pulled: number[] = [];
    for (const path of paths) {
      assert.match(await declaredOnly(h.server.url, path, big), / 413 /, `${path}: declared`);
      const { body, seen } = counted(big);
      const res = await fetch(h.server.url + path, {
        method: "POST",
        headers: {
          Origin: new URL(url).origin,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body,
      });
      assert.equal(res.status, 413, `${path}: chunked`);
      pulled.push(seen.pulled);
      await res.body?.cancel();
      assert.ok(seen.pulled < 1024 * 1024, `${path}: read ${seen.pulled} bytes`);
    }
    assert.equal(sends(h), 1, "nothing more was sent");
    console.log(
      `figure capabilities: 24 MiB bodies to ${paths.length} capability routes → 413 from ` +
        `Content-Length before any byte is read; chunked, 413 after at most ${
          Math.max(...pulled) / 1024
        } KiB pulled from the client`,
    );
  } finally {
    await h.close();
  }
});

for (const { backend, test } of SHARED_BACKENDS) {
  test(`capabilities sit in the shared state only as keyed hashes (${backend})`, async () => {
    const pair = await startPair(REQUIRE, (b) => ({ PUBLIC_URL: b.server.url }), backend);
    const monitor = await pair.redis?.monitor();
    try {
      // An approval asked on A, opened and decided on B, used on A.
      const asked = await approvalOf(pair.a.mcpUrl);
      assert.equal(await approveOn(`${pair.b.server.url}/approvals/${asked.approval_id}`), 303);
      assert.equal(await statusWith(pair.a.mcpUrl, asked.approval_id), "sent");
      // An HLR lookup on A whose callback lands on B.
      const lookup = await resultOf(modernCall(pair.a.mcpUrl, "lookup_hlr", {
        msisdn: "+37069912345",
        waitSeconds: 10,
      }, { Authorization: `Bearer ${DEMO_TOKENS["hlr:lookup"]}` }));
      assert.equal(lookup.structuredContent?.imsi, SAMPLE_HLR_CALLBACK.imsi);
      const callbackId = (pair.fake.requests.find((r) => r.path === "/hlr")!.body as {
        callBackUrl: string;
      }).callBackUrl.split("/").pop()!;

      let bytes = monitor ? await monitor.stop() : "";
      for (const suffix of monitor ? [] : ["", "-wal", "-shm"]) {
        bytes += await Deno.readFile(pair.path + suffix).then(
          (b) => new TextDecoder("latin1").decode(b),
          () => "",
        );
      }
      assert.ok(bytes.includes("approval"), `the approval went through ${backend}`);
      assert.ok(bytes.includes("hlr"), `the callback went through ${backend}`);
      for (
        const [what, value] of [["approval id", asked.approval_id], ["callback id", callbackId]]
      ) {
        assert.ok(!bytes.includes(value!), `no ${what} in ${backend}`);
      }
      assert.equal(sends(pair), 1);
      console.log(
        `figure capabilities (${backend}): an approval decided on the other instance and an HLR ` +
          `callback crossing instances → ${bytes.length} bytes of ${
            backend === "redis" ? "MONITOR output" : "database file"
          }, 0 approval or callback ids in them; ${sends(pair)} POST /sms`,
      );
    } finally {
      await pair.close();
    }
  });
}
