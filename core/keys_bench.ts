/**
 * What a token's keyed hash costs (it runs once per tool call):
 *
 *   deno bench --config dev.json core/keys_bench.ts
 */
import { createHmac } from "node:crypto";
import { createPrincipalHasher, hmac, hmacKey } from "./keys.ts";

const key = crypto.getRandomValues(new Uint8Array(32));
const token = "demo-full-5f2c9a1e7b3d-0123456789abcdef";
const hash = createPrincipalHasher(key);
const subtleKey = await hmacKey(key);
let n = 0;

Deno.bench(
  "createPrincipalHasher (@noble/hashes, keyed state cloned)",
  { baseline: true },
  async () => {
    await hash(token + n++);
  },
);
Deno.bench("node:crypto createHmac", () => {
  createHmac("sha256", key).update(token + n++).digest("base64url");
});
Deno.bench("crypto.subtle.sign", async () => {
  await hmac(subtleKey, token + n++);
});
