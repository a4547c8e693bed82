import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { hmacSha256 } from "./hmac.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (h: string) => new Uint8Array(h.match(/../g)!.map((x) => parseInt(x, 16)));

Deno.test("RFC 4231 test vectors", () => {
  assert.equal(
    hex(hmacSha256(bytes("0b".repeat(20)))("Hi There")),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  assert.equal(
    hex(hmacSha256(new TextEncoder().encode("Jefe"))("what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  // Key longer than a block (131 bytes of 0xaa).
  assert.equal(
    hex(
      hmacSha256(bytes("aa".repeat(131)))("Test Using Larger Than Block-Size Key - Hash Key First"),
    ),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
});

Deno.test("matches node:crypto for every message length from 0 to 300 and for unicode", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const mac = hmacSha256(key);
  for (let n = 0; n <= 300; n++) {
    const message = "t".repeat(n);
    assert.equal(
      hex(mac(message)),
      createHmac("sha256", key).update(message).digest("hex"),
      `length ${n}`,
    );
  }
  const unicode = "žetonas-ąčę-😀-" + "x".repeat(70);
  assert.equal(hex(mac(unicode)), createHmac("sha256", key).update(unicode).digest("hex"));
});

Deno.test("principal hashes are base64url HMACs, stable per key, different per key", async () => {
  const { base64url, createPrincipalHasher } = await import("./principal.ts");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const hash = createPrincipalHasher(key);
  assert.equal(await hash("tok"), createHmac("sha256", key).update("tok").digest("base64url"));
  assert.equal(await hash("tok"), await hash("tok"));
  assert.notEqual(await hash("tok"), await createPrincipalHasher()("tok"));
  for (let n = 0; n < 40; n++) {
    const b = crypto.getRandomValues(new Uint8Array(n));
    assert.equal(
      base64url(b),
      btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    );
  }
});
