import assert from "node:assert/strict";
import { countParts, encodingFor, firstNonGsm } from "./sms_encoding.ts";

Deno.test("GSM-7: 160 in one part, 153 per part when split", () => {
  assert.equal(countParts("a".repeat(160), "GSM-7"), 1);
  assert.equal(countParts("a".repeat(161), "GSM-7"), 2);
  assert.equal(countParts("a".repeat(306), "GSM-7"), 2);
  assert.equal(countParts("a".repeat(307), "GSM-7"), 3);
});

Deno.test("GSM-7 extension characters count two", () => {
  assert.equal(countParts("€".repeat(80), "GSM-7"), 1);
  assert.equal(countParts("€".repeat(81), "GSM-7"), 2);
  assert.equal(countParts("^{}\\[~]|".repeat(10), "GSM-7"), 1); // 160 septets
});

Deno.test("UCS-2: 70 / 67", () => {
  assert.equal(countParts("ą".repeat(70), "UCS-2"), 1);
  assert.equal(countParts("ą".repeat(71), "UCS-2"), 2);
  assert.equal(countParts("ą".repeat(134), "UCS-2"), 2);
  assert.equal(countParts("ą".repeat(135), "UCS-2"), 3);
  assert.equal(countParts("😀".repeat(35), "UCS-2"), 1); // surrogate pairs: two units each
  assert.equal(countParts("😀".repeat(36), "UCS-2"), 2);
});

Deno.test("a two-unit character on a part boundary starts the next part", () => {
  // 152 + € (2 septets) + 152 = 306 septets: 2 × 153 by division, but € cannot be split.
  const escaped = `${"a".repeat(152)}€${"a".repeat(152)}`;
  assert.equal(countParts(escaped, "GSM-7"), 3);
  assert.equal(
    countParts(`${"a".repeat(151)}€${"a".repeat(153)}`, "GSM-7"),
    2,
    "€ fits in part one",
  );
  // 66 + 😀 (a surrogate pair) + 66 = 134 units: 2 × 67 by division, but the pair stays whole.
  const emoji = `${"ą".repeat(66)}😀${"ą".repeat(66)}`;
  assert.equal(countParts(emoji, "UCS-2"), 3);
  assert.equal(countParts(`${"ą".repeat(65)}😀${"ą".repeat(67)}`, "UCS-2"), 2);
  // 8-bit: a two-byte character at byte 134.
  assert.equal(countParts(`${"a".repeat(133)}é${"a".repeat(133)}`, "8-bit"), 3);
});

Deno.test("8-bit: 140 / 134 bytes", () => {
  assert.equal(countParts("a".repeat(140), "8-bit"), 1);
  assert.equal(countParts("a".repeat(141), "8-bit"), 2);
});

Deno.test("encoding: GSM-7 when the text fits, else UCS-2, unless coding says", () => {
  assert.equal(encodingFor("Hello @ £5 ÄÖ"), "GSM-7");
  assert.equal(encodingFor("Labas, ąčę"), "UCS-2");
  assert.equal(encodingFor("Hello", 2), "UCS-2");
  assert.equal(encodingFor("Hello", 1), "8-bit");
  assert.equal(firstNonGsm("ok ą"), "ą");
  assert.equal(firstNonGsm("ok €"), undefined);
});
