import assert from "node:assert/strict";
import {
  CAPABILITY_ROUTES,
  capabilityOf,
  loggablePath,
  normalizePath,
  scrubSpanUrl,
} from "./capabilities.ts";

const ID = "mIbz0jKQx3vL9pT2sW8yA1cE5gH7jK0mN4qR6tU8wXz";

/** Ways to spell a path under a capability route that a log or a span could otherwise keep. */
function spellings(stem: string): string[] {
  const [first, ...rest] = stem.slice(1).split("/");
  const tail = rest.length ? `/${rest.join("/")}` : "";
  return [
    `${stem}/${ID}`,
    `${stem}/${ID}/`,
    `/${stem}//${ID}`,
    `${stem.toUpperCase()}/${ID}`,
    `${stem}%2F${ID}`,
    `${stem}%252F${ID}`,
    `/%${first!.charCodeAt(0).toString(16)}${first!.slice(1)}${tail}/${ID}`,
    `/x/..${stem}/${ID}`,
    `${stem}\\${ID}`,
    `${stem}/./${ID}?q=1`,
    `${stem};${ID}`,
    `${stem}${ID}`,
  ];
}

Deno.test("every spelling of a capability path is its route, in logs and in span URLs", () => {
  for (const { stem, route } of CAPABILITY_ROUTES) {
    for (const path of spellings(stem)) {
      const bare = path.split("?")[0]!;
      assert.equal(capabilityOf(bare)?.route, route, path);
      assert.equal(loggablePath(bare), route, path);
      assert.equal(scrubSpanUrl("url.path", bare), route, path);
      assert.equal(
        scrubSpanUrl("url.full", `https://mcp.example.com${path}`),
        `https://mcp.example.com${route}`,
        path,
      );
    }
  }
});

Deno.test("other paths are left alone, but a capability-long run is cut anywhere", () => {
  for (const path of ["/mcp", "/mcp/x/sms:send", "/approvals", "/callbacks", "/healthz"]) {
    assert.equal(capabilityOf(path), undefined, path);
    assert.equal(loggablePath(path), path);
    assert.equal(scrubSpanUrl("url.path", path), path);
  }
  assert.equal(loggablePath(`/elsewhere/${ID}`), "/elsewhere/…");
  assert.equal(scrubSpanUrl("url.query", `id=${ID}&x=1`), "id=…&x=1");
  assert.equal(
    scrubSpanUrl("url.full", `https://h.example/mcp?approval=${ID}`),
    "https://h.example/mcp?approval=…",
  );
});

Deno.test("normalizePath reads a path the most forgiving way", () => {
  assert.equal(normalizePath("/A//b/./c/../D%2fe%25"), "/a/b/d/e%");
  assert.equal(normalizePath("/%zz/ok"), "/%zz/ok", "a malformed escape is kept");
});
