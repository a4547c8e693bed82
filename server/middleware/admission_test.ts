import assert from "node:assert/strict";
import { TokenAdmission, VouchedTokens } from "./admission.ts";
import { FixedWindowLimiter } from "./rate_limit.ts";

const admitted = <T>(a: T | { retryAfterSeconds: number }) => {
  assert.ok(!("retryAfterSeconds" in (a as object)), "admitted");
  return a as T;
};

Deno.test("admission: concurrent unknown tokens take their places before VertexSMS answers", async () => {
  const admission = new TokenAdmission(new FixedWindowLimiter(3, 60_000), new VouchedTokens());
  const all = await Promise.all(["a", "b", "c", "d", "e"].map((t) => admission.admit("ip", t)));
  assert.equal(all.filter((a) => "judged" in a).length, 3, "three places, two refusals");
  for (const a of all) {
    if ("judged" in a) {
      a.judged("rejected");
      a.ended();
    }
  }
  assert.ok("retryAfterSeconds" in await admission.admit("ip", "f"), "rejections keep theirs");
  assert.ok("judged" in await admission.admit("other-ip", "f"), "per address");
});

Deno.test("admission: a place comes back as soon as VertexSMS accepts, or when it was never asked", async () => {
  const vouched = new VouchedTokens();
  const admission = new TokenAdmission(new FixedWindowLimiter(1, 60_000), vouched);
  const first = admitted(await admission.admit("ip", "real"));
  first.judged("accepted"); // mid-request: a long HLR wait no longer holds the place
  assert.ok(vouched.has("real"));
  const other = admitted(await admission.admit("ip", "new"));
  other.ended(); // never asked VertexSMS (tools/list): given back
  admitted(await admission.admit("ip", "newer"));
  first.ended();
});

Deno.test("admission: concurrent requests with one unknown token wait for the first one's verdict", async () => {
  const admission = new TokenAdmission(new FixedWindowLimiter(2, 60_000), new VouchedTokens());
  const first = admitted(await admission.admit("ip", "burst"));
  assert.equal(admission.asking, 1);
  const waiting = Array.from({ length: 50 }, () => admission.admit("ip", "burst"));
  await new Promise((r) => setTimeout(r, 10));
  first.judged("accepted");
  const rest = await Promise.all(waiting);
  assert.ok(rest.every((a) => "judged" in a), "all 50 admitted once the token is vouched for");
  assert.equal(admission.asking, 0);
  // A made-up token's burst: the first is rejected, the others then take (and run out of) places.
  const bad = admitted(await admission.admit("ip", "madeup"));
  const after = Array.from({ length: 5 }, () => admission.admit("ip", "madeup"));
  bad.judged("rejected");
  bad.ended();
  const outcomes = await Promise.all(after);
  assert.equal(outcomes.filter((a) => "judged" in a).length, 1, "one place left of two");
});

Deno.test("admission: a first request that never asks VertexSMS hands the asking on to the next", async () => {
  const admission = new TokenAdmission(new FixedWindowLimiter(2, 60_000), new VouchedTokens());
  // A burst whose first call reads this server's own state (manage_opt_outs, get_sms_usage).
  const first = admitted(await admission.admit("ip", "burst"));
  const waiting = Array.from({ length: 30 }, () => admission.admit("ip", "burst"));
  await new Promise((r) => setTimeout(r, 10));
  first.ended();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(admission.asking, 1, "one of the waiting asks alone; the others still wait");
  // Another address's request still finds its own place.
  admitted(await admission.admit("other", "x")).ended();
  const second = await Promise.race(waiting);
  admitted(second).judged("accepted");
  const rest = await Promise.all(waiting);
  assert.ok(rest.every((a) => "judged" in a), "all 30 admitted: the burst cost one place");
});
