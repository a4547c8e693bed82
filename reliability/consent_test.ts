/**
 * Consent across instances and failures, counting `POST /sms` exactly: two
 * server instances sharing Deno KV or Redis — an opt-out added on one
 * refuses sends on the other (single, batch, approved, confirmed), the
 * per-recipient limit holds under many concurrent sends split between them,
 * and neither the database file nor Redis's MONITOR output nor any log line
 * holds an opted-out number in clear; with Redis down, sends and the list
 * are refused, nothing sent (fail closed).
 */
import assert from "node:assert/strict";
import { Logger } from "../core/log.ts";
import { redisState } from "../state/mod.ts";
import {
  type Backend,
  CLIENTS,
  type Connected,
  DEMO_TOKENS,
  envelopeOf,
  type Pair,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

const TOKEN = DEMO_TOKENS.full;
const TEXT = { from: "VertexSMS", message: "The office is closed today." };
const OPTED = "+37069912345";
const LIMITED = "+37069512399";

// deno-lint-ignore no-explicit-any
type Result = any;

const call = (c: Connected, name: string, args: Record<string, unknown>): Promise<Result> =>
  c.client.callTool({ name, arguments: args });
const sentTo = (pair: Pair) =>
  pair.fake.requests.filter((r) => r.method === "POST" && r.path === "/sms")
    .map((r) => `+${(r.body as { to: string }).to}`);

/** Everything the shared state was given while `act` ran: Redis's MONITOR, or the KV file. */
async function stateBytes(pair: Pair, act: () => Promise<void>): Promise<string> {
  const monitor = await pair.redis?.monitor();
  await act();
  if (monitor) return await monitor.stop();
  let bytes = "";
  for (const suffix of ["", "-wal", "-shm"]) {
    bytes += await Deno.readFile(pair.path + suffix).then(
      (b) => new TextDecoder("latin1").decode(b),
      () => "",
    );
  }
  return bytes;
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`two instances (${backend}): an opt-out on one holds on the other; the per-recipient limit holds under concurrency`, async () => {
    const pair = await startPair(
      {
        SMS_PER_RECIPIENT_PER_DAY: "3",
        SMS_SENDS_PER_MINUTE: "0",
        SMS_RECIPIENTS_PER_HOUR: "0",
        SMS_CONFIRMATION: "require",
      },
      () => ({}),
      backend as Backend,
    );
    const a = await CLIENTS[1].connect(pair.a.mcpUrl, TOKEN);
    const b = await CLIENTS[0].connect(pair.b.mcpUrl, TOKEN);
    let limited: Result[] = [];
    try {
      const bytes = await stateBytes(pair, async () => {
        // An approval asked and given on B while the number is not listed; the opt-out on A.
        const asked = (await call(b, "send_sms", { ...TEXT, to: OPTED })).structuredContent;
        assert.equal(asked.status, "approval_required");
        const approvals = pair.b.server.app.money.approvals;
        const view = (await approvals.view(asked.approval_id))!;
        assert.equal(
          await approvals.decide(asked.approval_id, "approve", view.formToken),
          "approved",
        );
        await call(a, "manage_opt_outs", { action: "add", numbers: [OPTED] });
        // A dry run's confirmation on A, used on B.
        const quote = (await call(a, "send_sms", { ...TEXT, to: OPTED, dryRun: true }))
          .structuredContent;
        assert.deepEqual(quote.refused.map((r: Result) => r.reason), ["opted_out"]);
        for (
          const [c, args] of [
            [b, { to: OPTED, approvalId: asked.approval_id }],
            [a, { to: OPTED, approvalId: asked.approval_id }],
            [b, { to: OPTED }],
            [b, { to: "869912345", correctBy: "LT" }],
          ] as const
        ) {
          const error = envelopeOf(await call(c, "send_sms", { ...TEXT, ...args }));
          assert.equal(error.code, "SEND_NOT_ALLOWED");
          assert.equal(error.reason, "opted_out");
        }
        // A batch approved on B: the listed recipient is not sent, the other is.
        const to = ["+37069512300", OPTED];
        const pending = (await call(b, "send_sms_batch", { ...TEXT, to })).structuredContent;
        assert.deepEqual(pending.refused.map((r: Result) => r.to), [OPTED]);
        const page = (await approvals.view(pending.approval_id))!;
        await approvals.decide(pending.approval_id, "approve", page.formToken);
        const out =
          (await call(a, "send_sms_batch", { ...TEXT, to, approvalId: pending.approval_id }))
            .structuredContent;
        assert.deepEqual(out.results.map((r: Result) => r.status), ["sent", "not_sent"]);
        assert.deepEqual((await call(b, "manage_opt_outs", { action: "list" })).structuredContent, {
          numbers: [OPTED],
          next_cursor: null,
        });
        // 24 sends to one number at once, half on each instance, each with its own approval.
        const approved = async (c: Connected, i: number) => {
          const args = { ...TEXT, to: LIMITED, message: `Reminder ${i}` };
          const ask = (await call(c, "send_sms", args)).structuredContent;
          const v = (await approvals.view(ask.approval_id))!;
          await approvals.decide(ask.approval_id, "approve", v.formToken);
          return { ...args, approvalId: ask.approval_id };
        };
        // (The approvals are asked one after another: only the sends race.)
        const ready = [];
        for (let i = 0; i < 24; i++) ready.push(await approved(i % 2 ? a : b, i));
        limited = await Promise.all(ready.map((args, i) => call(i % 2 ? b : a, "send_sms", args)));
      });
      assert.equal(sentTo(pair).filter((t) => t === OPTED).length, 0, "no SMS to the opted-out");
      assert.deepEqual(sentTo(pair).filter((t) => t !== LIMITED), ["+37069512300"]);
      const delivered = sentTo(pair).filter((t) => t === LIMITED).length;
      assert.equal(delivered, 3, "at most SMS_PER_RECIPIENT_PER_DAY to one number");
      assert.equal(limited.filter((r) => r.isError !== true).length, 3);
      const refused = limited.filter((r) => r.isError).map((r) => envelopeOf(r));
      assert.equal(refused.length, 21);
      assert.ok(
        refused.every((e) => e.code === "SEND_NOT_ALLOWED" && e.reason === "recipient_limit"),
      );
      // Neither the database nor the logs hold the opted-out number in clear.
      assert.ok(bytes.includes("optout"), `the list went through ${backend}`);
      for (const digits of [OPTED.slice(1), OPTED.slice(4)]) {
        assert.ok(!bytes.includes(digits), `no ${digits} in ${backend}`);
      }
      for (const h of [pair.a, pair.b]) {
        assert.deepEqual(h.scan([{ kind: "phone number", value: OPTED }]).leaks, []);
      }
      console.log(
        `figure consent (${backend}): opt-out added on A, 5 sends to it (approved, confirmed, ` +
          `re-spelled) and a 2-recipient batch approved across A and B → 0 POST /sms to it; 24 concurrent approved sends to one ` +
          `number over A and B with SMS_PER_RECIPIENT_PER_DAY=3 → ${delivered} POST /sms; ` +
          `${bytes.length} bytes of ${backend === "redis" ? "MONITOR output" : "database file"}, ` +
          "0 opted-out numbers in them",
      );
    } finally {
      await a.close();
      await b.close();
      await pair.close();
    }
  });
}

redisTest("Redis down: sends are refused before anything leaves, and so is the list", async () => {
  const redis = await startRedis();
  const state = await redisState({
    url: redis.url,
    pollMs: 100,
    logger: new Logger("error", () => {}),
  });
  const h = startHarness({ state });
  const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
  try {
    await call(c, "manage_opt_outs", { action: "add", numbers: [OPTED] });
    await redis.stop();
    for (
      const [name, args] of [
        ["send_sms", { ...TEXT, to: OPTED }],
        ["send_sms", { ...TEXT, to: "+37069512300" }],
        ["send_sms_batch", { ...TEXT, to: [OPTED, "+37069512300"] }],
        ["manage_opt_outs", { action: "check", numbers: [OPTED] }],
        ["manage_opt_outs", { action: "list" }],
      ] as const
    ) {
      const error = envelopeOf(await call(c, name, args));
      assert.equal(error.code, "UPSTREAM_UNAVAILABLE", name);
      assert.equal(error.retryable, true);
      assert.match(String(error.message), /shared state \(Redis\) cannot be reached/);
    }
    assert.equal(h.fake.count("POST /sms"), 0, "fails closed: nothing sent");
  } finally {
    await c.close();
    await h.close();
    await state.close();
    await redis.close();
  }
});
