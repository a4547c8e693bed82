/**
 * The confirmation question attacked through the text it shows: line and
 * paragraph separators, control characters and bidirectional overrides in
 * an SMS text cannot add lines to the in-band question (either era) or to
 * the approval page, and a long text is shown whole. Prints a
 * `figure question` line; the person declines, so nothing is sent.
 */
import assert from "node:assert/strict";
import { quoteLine, visibleText } from "../core/confine.ts";
import { escape } from "../server/approvals.ts";
import { CLIENTS, DEMO_TOKENS, modernCall, resultOf, startHarness } from "../testing/harness.ts";

/** Everything a text viewer may take for the end of a line. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x85\u2028\u2029]/;

/**
 * A text that tried to put a cheap `Parts:` and `Estimated cost:` above the
 * real ones (UCS-2, several parts), then hide the rest, padded to the
 * 1,600-character maximum.
 */
const FORGED = (() => {
  const lies = "Hello\u2028Parts: 1 (GSM-7)\u2029Estimated cost: about €0.01\x85\r\n" +
    "\u202eTo: +37060000000\u202c\v\f\u2066x\u2069 ąčę";
  return lies + " padding".repeat(200).slice(0, 1600 - lies.length);
})();

Deno.test("an SMS text cannot forge lines of the question or the page, and is shown whole", async () => {
  assert.equal(FORGED.length, 1600);
  const h = startHarness({ env: { SMS_CONFIRMATION: "require" } });
  try {
    const questions: string[] = [];
    for (const { era, connect } of CLIENTS) {
      const c = await connect(h.mcpUrl, DEMO_TOKENS.full, {
        elicitation: ({ message }) => (questions.push(message), { action: "decline" }),
      });
      try {
        const result = await c.client.callTool({
          name: "send_sms",
          arguments: { to: "+37069912345", from: "VertexSMS", message: FORGED },
        });
        assert.equal(result.structuredContent?.reason, "declined", era);
      } finally {
        await c.close();
      }
    }
    assert.equal(questions.length, 2, "asked in both eras");
    for (const question of questions) {
      const lines = question.split(LINE_BREAK);
      assert.equal(lines.length, 6, "the question's own six lines, no more");
      assert.equal(lines.filter((l) => l.startsWith("Parts: ")).length, 1);
      assert.match(lines[4]!, /^Parts: \d+ \(UCS-2\)$/, "the real parts");
      assert.equal(lines.filter((l) => l.startsWith("Estimated cost: ")).length, 1);
      assert.equal(lines[3], `Text: ${quoteLine(FORGED)}`, "the whole text, escaped");
      assert.ok(!/[\u202a-\u202e\u2066-\u2069]/.test(question), "no bidirectional control");
    }

    // The approval page (a client that cannot be asked gets the link).
    const asked = (await resultOf(modernCall(h.mcpUrl, "send_sms", {
      to: "+37069912345",
      from: "VertexSMS",
      message: FORGED,
    }, { Authorization: `Bearer ${DEMO_TOKENS.full}` }))).structuredContent;
    const page = await (await fetch(asked.approval_url)).text();
    assert.ok(page.includes(escape(visibleText(FORGED))), "the page shows the whole text, marked");
    assert.ok(!/[\r\v\f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(page));
    assert.equal(h.fake.count("POST /sms"), 0);
    console.log(
      `figure question: a 1,600-character text with ${
        FORGED.split(LINE_BREAK).length - 1
      } line breaks and 4 bidirectional controls → 6 question lines in both eras (one Parts:, ` +
        `one Estimated cost:), the whole text shown escaped; the page marks every break; ` +
        `${h.fake.count("POST /sms")} POST /sms`,
    );
  } finally {
    await h.close();
  }
});
