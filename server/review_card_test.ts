import assert from "node:assert/strict";
import { visibleLine, visibleText } from "../core/confine.ts";
import { CONFINE_JS, REVIEW_CARD_HTML, reviewCardMeta } from "./review_card.ts";

Deno.test("the card shows text as core/confine.ts does", () => {
  const card = new Function(`${CONFINE_JS}\nreturn { visibleLine, visibleText };`)() as {
    visibleLine: (t: unknown) => string;
    visibleText: (t: unknown) => string;
  };
  const samples = [
    "plain",
    "two\nlines",
    "Parts: 1\u2028Estimated cost: about €0.01\u2029\x85\r\v\f",
    "\u202eevil\u202c \u2066iso\u2069 \u200e\u200f\u061c \x00\x1b\x7f\x9f",
    "Ąžuolas 👍",
  ];
  for (const text of samples) {
    assert.equal(card.visibleText(text), visibleText(text), JSON.stringify(text));
    assert.equal(card.visibleLine(text), visibleLine(text), JSON.stringify(text));
  }
  assert.ok(REVIEW_CARD_HTML.includes(CONFINE_JS));
});

Deno.test("the card reaches no server and decides nothing: it opens the approval page", () => {
  assert.deepEqual(reviewCardMeta("https://mcp.example.com").ui.csp, {
    connectDomains: [],
    resourceDomains: [],
  });
  assert.ok(!/fetch\(|XMLHttpRequest|form_token/.test(REVIEW_CARD_HTML));
  assert.match(REVIEW_CARD_HTML, /"ui\/open-link"/);
});
