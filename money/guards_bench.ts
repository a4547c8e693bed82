/**
 * What the money guards add to one `send_sms`, without any network:
 *
 *   deno bench -A money/guards_bench.ts
 */
import { KvStore, MemoryStore, type Store } from "../state/mod.ts";
import { Money } from "./guards.ts";
import type { SendLimits } from "./limits.ts";
import type { GuardContext, SendCall } from "./types.ts";

const SECRET = new TextEncoder().encode("bench-secret-of-at-least-32-bytes!!");
const DEFAULTS: SendLimits = {
  sendsPerMinute: 0,
  recipientsPerHour: 100,
  dailySpendCapMicros: 0,
  pinTextsPerHour: 0,
};
const OFF: SendLimits = {
  sendsPerMinute: 0,
  recipientsPerHour: 0,
  dailySpendCapMicros: 0,
  pinTextsPerHour: 0,
};
const SENT = { message_id: "1", status: "sent" };

const path = await Deno.makeTempFile({ suffix: ".sqlite" });
const kv = await Deno.openKv(path);

function guards(store: Store, limits: SendLimits) {
  return new Money({ store, secret: SECRET, limits, confirmation: "ask", leaseMs: 60_000 });
}

let n = 0;
const ctx = (): GuardContext => ({
  // A new token per send, so the per-minute and recipient limits never refuse.
  principal: () => Promise.resolve(`principal-${n++}`),
  signal: new AbortController().signal,
});

const call = (key?: string): SendCall<object> => ({
  tool: "send_sms",
  args: { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" },
  idempotencyKey: key,
  recipient: "+37069912345",
  destination: "+37069912345",
  quote: () =>
    Promise.resolve({
      country: "LT",
      rateEur: "0.05",
      rateMicros: 1,
      costEur: "0.05",
      costMicros: 1,
    }),
  parts: 1,
  question: () => "",
  notSent: () => ({}),
  details: () => ({
    to: "+37069912345",
    from: "VertexSMS",
    message: "Your code is 4821",
    parts: 1,
    encoding: "GSM-7",
    estimatedCostEur: null,
    rateEur: null,
    country: null,
  }),
  approvalRequired: () => ({}),
  run: () => Promise.resolve(SENT),
});

const memoryOff = guards(new MemoryStore(), OFF);
const memory = guards(new MemoryStore(), DEFAULTS);
const kvGuards = guards(new KvStore(kv), DEFAULTS);

Deno.bench("no guard (baseline)", { group: "send", baseline: true }, async () => {
  await call().run();
});
Deno.bench("limits off, no key", { group: "send" }, async () => {
  await memoryOff.send(ctx(), call());
});
Deno.bench("memory: default limits", { group: "send" }, async () => {
  await memory.send(ctx(), call());
});
Deno.bench("memory: default limits + idempotency key", { group: "send" }, async () => {
  await memory.send(ctx(), call(`k${n}`));
});
Deno.bench("KV (SQLite): default limits", { group: "send" }, async () => {
  await kvGuards.send(ctx(), call());
});
Deno.bench("KV (SQLite): default limits + idempotency key", { group: "send" }, async () => {
  await kvGuards.send(ctx(), call(`k${n}`));
});

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(path);
});
