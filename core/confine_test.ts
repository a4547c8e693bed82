import assert from "node:assert/strict";
import { quoteLine, visibleLine, visibleText } from "./confine.ts";

/** Every character that can break a line, start a paragraph or reorder text. */
const FORGERS = [
  ..."\n\r\v\f\t\0\x1b\x7f\x85\u2028\u2029",
  ..."\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
];
const NEWLINES = /[\n\r\v\f\x85\u2028\u2029]/;

Deno.test("quoteLine: one line, every forging character escaped; JSON.stringify leaves some", () => {
  for (const ch of FORGERS) {
    const quoted = quoteLine(`a${ch}b`);
    assert.ok(!quoted.includes(ch), JSON.stringify(ch));
    assert.match(quoted, /^"a\\(?:[nrt]|u[0-9A-F]{4})b"$/);
  }
  const leftAlone = FORGERS.filter((ch) => JSON.stringify(ch).includes(ch));
  assert.equal(
    leftAlone.length,
    16,
    "DEL, NEL, U+2028/9 and the bidi controls pass JSON.stringify",
  );
  assert.equal(quoteLine('say "hi" \\ now'), String.raw`"say \"hi\" \\ now"`);
  assert.equal(quoteLine("Ąžuolas 👍 ok"), '"Ąžuolas 👍 ok"', "other text unchanged");
});

Deno.test("visibleText keeps line feeds as marked breaks; visibleLine breaks nothing", () => {
  assert.equal(visibleText("one\ntwo"), "one↵\ntwo");
  assert.equal(visibleText("a\u2028b\r\nc\u202ed"), "a\\u2028b\\r↵\nc\\u202Ed");
  for (const ch of FORGERS) {
    assert.ok(!NEWLINES.test(visibleLine(`x${ch}y`)), JSON.stringify(ch));
    assert.ok(!visibleLine(`x${ch}y`).includes(ch) || ch === "\n", JSON.stringify(ch));
  }
});
