/** The leak scanner finds what it must, and not ordinary log content. */
import assert from "node:assert/strict";
import { consoleLines, findLeaks, type Secret } from "./leaks.ts";

const SECRETS: Secret[] = [
  { kind: "token", value: "tok-abcdef-123456" },
  { kind: "sms text", value: 'Say "hi" to ąčę\nnow' },
  { kind: "phone number", value: "37069912345" },
  { kind: "pin", value: "48213" },
  { kind: "callback id", value: "A".repeat(43) },
];

Deno.test("findLeaks: each kind of secret is found, JSON-escaped texts too", () => {
  const lines = [
    JSON.stringify({ msg: "x", note: "auth tok-abcdef-123456" }),
    JSON.stringify({ msg: "x", text: 'Say "hi" to ąčę\nnow' }),
    JSON.stringify({ msg: "x", to: "+37069912345" }),
    JSON.stringify({ msg: "x", code: "48213" }),
    `/callbacks/hlr/${"A".repeat(43)}`,
  ];
  const report = findLeaks(lines, SECRETS);
  assert.deepEqual(report.leaks.map((l) => l.kind), [
    "token",
    "sms text",
    "phone number",
    "pin",
    "callback id",
  ]);
  assert.ok(report.leaks.every((l) => l.line.includes("[SECRET]")));
  assert.ok(!report.leaks.some((l) => l.line.includes("tok-abcdef-123456")));
});

Deno.test("findLeaks: last four digits, times and ids are not leaks", () => {
  const lines = [
    JSON.stringify({ time: "2026-05-01T12:48:21.348Z", to: "…2345", request_id: "148213ab-..." }),
    JSON.stringify({ duration_ms: 48.21, status: 200 }),
  ];
  assert.deepEqual(findLeaks(lines, SECRETS).leaks, []);
});

Deno.test("consoleLines records what is printed", () => {
  const lines = consoleLines();
  const before = lines.length;
  console.debug("leak-scan probe");
  assert.equal(lines.length, before + 1);
  assert.equal(lines.at(-1), "leak-scan probe");
});
