/**
 * The skills say what is true of this server: every tool they name exists
 * and is one the skill declares it needs (`metadata.requires-tools`); every
 * argument, result field, status, error code and setting they quote in
 * backticks is one a tool or the configuration has; each covers the money
 * guards' steps of the tools it uses; the budget skill's defaults are the
 * configuration's. And a toolset offers exactly the skills whose tools it has,
 * as `docs/skills.md` says.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { VARIABLES } from "../../core/config.ts";
import { CATALOG, ServiceError, toEnvelope } from "../../core/errors.ts";
import { Logger } from "../../core/log.ts";
import { TOOLS } from "../../tools/mod.ts";
import { SKILL_FILES } from "../skill_files.ts";
import { Toolsets } from "../toolsets.ts";
import { requiredTools, Skills } from "./skills.ts";

const SKILLS_DIR = new URL("../../skills/", import.meta.url);
const TOOL_NAMES = new Set(TOOLS.map((t) => t.name));

/** Every file under `skills/`, by its path there. */
async function filesOnDisk(dir = SKILLS_DIR, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) {
      Object.assign(out, await filesOnDisk(new URL(`${entry.name}/`, dir), `${path}/`));
    } else out[path] = await Deno.readTextFile(new URL(entry.name, dir));
  }
  return out;
}

/** Property names and enum/const values anywhere in a JSON Schema. */
function schemaWords(schema: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(schema)) schema.forEach((s) => schemaWords(s, into));
  else if (schema && typeof schema === "object") {
    const s = schema as Record<string, unknown>;
    for (const key of Object.keys((s.properties as object | undefined) ?? {})) into.add(key);
    for (const value of [...((s.enum as unknown[] | undefined) ?? []), s.const]) {
      if (typeof value === "string") into.add(value);
    }
    Object.values(s).forEach((v) => schemaWords(v, into));
  }
  return into;
}

/** What the tools take and answer: argument names, result fields, statuses and other values. */
const FIELDS = new Set<string>();
for (const tool of TOOLS) {
  schemaWords(z.toJSONSchema(tool.input, { io: "input" }), FIELDS);
  schemaWords(z.toJSONSchema(tool.output, { io: "output", unrepresentable: "any" }), FIELDS);
}
/** The error envelope's fields, every optional one present. */
const envelope = toEnvelope(
  new ServiceError("AUTH_INVALID", "m", {
    vertexErrorCode: 1,
    requiredScope: "sms:send",
    retryAfterSeconds: 1,
    details: [{ path: "to", message: "m" }],
    outcomeUnknown: true,
    lookupId: "1",
  }),
  "request",
  { signupUrl: "https://a.example", signinUrl: "https://a.example", tokenUrl: "https://a.example" },
);
for (const key of Object.keys(envelope.error)) FIELDS.add(key);
/** Error codes and settings a skill may quote. */
const NAMES = new Set([...Object.keys(CATALOG), ...Object.keys(VARIABLES)]);
/** Verbs tool names begin with (this server's, and common ones a made-up name would use). */
const VERBS = new Set([
  ...TOOLS.map((t) => t.name.split("_")[0]!),
  ...["list", "fetch", "check", "create", "delete", "update", "set", "read", "verify", "cancel"],
]);

/** A skill: its name, files and the tools its front matter says it needs. */
interface SkillText {
  name: string;
  text: string;
  requires: string[];
}

/** The tool names a skill's text uses (whole identifiers that look like tools). */
function toolsNamed(text: string): Set<string> {
  const ids = text.match(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g) ?? [];
  return new Set(ids.filter((id) => VERBS.has(id.split("_")[0]!) && !FIELDS.has(id)));
}

/** What in a skill's text is not true of this server; empty when all is. */
function problems(skill: SkillText): string[] {
  const out: string[] = [];
  const named = toolsNamed(skill.text);
  for (const tool of named) {
    if (!TOOL_NAMES.has(tool)) out.push(`names a tool that does not exist: ${tool}`);
    else if (!skill.requires.includes(tool)) out.push(`uses ${tool} but does not require it`);
  }
  for (const tool of skill.requires) {
    if (!named.has(tool)) out.push(`requires ${tool} but never names it`);
  }
  // Identifiers in backticks, and each part of a dotted path (`today.remaining_eur`).
  for (const [, quoted] of skill.text.matchAll(/`([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)`/g)) {
    for (const word of quoted!.split(".")) {
      if (["true", "false", "null"].includes(word)) continue;
      if (!TOOL_NAMES.has(word) && !FIELDS.has(word) && !NAMES.has(word)) {
        out.push(`quotes \`${word}\`, which no tool, error code or setting has`);
      }
    }
  }
  for (const step of stepsOf(skill)) {
    if (!new RegExp(`\\b${step}\\b`).test(skill.text)) out.push(`omits ${step}`);
  }
  return [...new Set(out)];
}

/** What each skill is about, besides the guard steps its tools bring (see {@link stepsOf}). */
const ABOUT: Record<string, string[]> = {
  "sms-one-time-code": ["get_sms_status", "outcome_unknown", "SMS_CONFIRMATION", "RATE_LIMITED"],
  "sms-to-a-list": ["correct_phone_number", "get_sms_status", "outcome_unknown", "RATE_LIMITED"],
  "sms-number-checks": ["correct_phone_number", "get_sms_rates", "HLR_TIMEOUT", "HLR_UNAVAILABLE"],
  "sms-sender-registration": ["PIN_TEXTS_PER_HOUR", "RATE_LIMITED", "VERTEX_REQUEST_REJECTED"],
  "sms-budget": [
    "get_sms_usage",
    "RATE_LIMITED",
    "retry_after_seconds",
    "SMS_DAILY_SPEND_CAP_EUR",
    "SMS_SENDS_PER_MINUTE",
    "SMS_RECIPIENTS_PER_HOUR",
  ],
};

/** The money guards' arguments a tool takes, each a step a skill using it must teach. */
const GUARD_ARGS = ["dryRun", "confirmationToken", "approvalId", "idempotencyKey"];

/**
 * The steps a skill must mention: for each tool it requires, the guard
 * arguments the tool takes (and the approval page with `approvalId`), and
 * "billable" when it costs money; then {@link ABOUT}'s.
 */
function stepsOf(skill: SkillText): string[] {
  const steps = new Set(ABOUT[skill.name] ?? ["(unknown skill)"]);
  for (const tool of TOOLS.filter((t) => skill.requires.includes(t.name))) {
    const args = Object.keys((tool.input as z.ZodObject).shape ?? {});
    for (const arg of GUARD_ARGS.filter((a) => args.includes(a))) steps.add(arg);
    if (args.includes("approvalId")) steps.add("approval_url");
    if (tool.billable) steps.add("billable");
  }
  return [...steps];
}

const logger = new Logger("error", () => {});
/** The skills of this server, with its tools. */
const skills = new Skills(SKILL_FILES, TOOL_NAMES, logger);
/** The skills `/mcp` offers. */
const entries = (await skills.catalogFor(undefined, "public")).entries;

/** Every skill's entry, loaded strictly by the SDK (a malformed skill fails here), whatever tools exist. */
async function allEntries() {
  const declared = Object.values(SKILL_FILES).flatMap((t) =>
    /requires-tools: (.*)/.exec(t)?.[1]?.split(" ") ?? []
  );
  return (await new Skills(SKILL_FILES, declared, logger).catalogFor(undefined, "public")).entries;
}

/** Every skill with its text (all its files) and the tools it requires. */
async function everySkill(): Promise<SkillText[]> {
  return (await allEntries()).map((entry) => {
    const name = entry.frontmatter.name;
    const files = Object.entries(SKILL_FILES).filter(([path]) => path.startsWith(`${name}/`));
    return {
      name,
      text: files.map(([, text]) => text).join("\n"),
      requires: requiredTools(entry.frontmatter),
    };
  });
}

Deno.test("every file under skills/ is embedded, unchanged, and every skill loads strictly", async () => {
  assert.deepEqual(SKILL_FILES, await filesOnDisk());
  const loaded = await allEntries();
  const folders = [...new Set(Object.keys(SKILL_FILES).map((p) => p.split("/")[0]))].sort();
  assert.deepEqual(loaded.map((s) => s.frontmatter.name), folders);
  assert.equal(folders.length, 5);
  for (const skill of loaded) {
    assert.equal(skill.uri, `skill://vertexsms/${skill.frontmatter.name}/SKILL.md`);
    assert.ok(requiredTools(skill.frontmatter).length > 0, `${skill.uri} lists its tools`);
    assert.ok(Array.isArray(skill.resources) && skill.resources.length >= 2, skill.uri);
  }
});

Deno.test("the skills name only tools that exist, quote only what the server has, and teach the guards' steps", async () => {
  const found = Object.fromEntries((await everySkill()).map((s) => [s.name, problems(s)]));
  assert.deepEqual(found, Object.fromEntries(Object.keys(ABOUT).map((name) => [name, []])));
  // With every tool present, every skill is offered on /mcp.
  assert.deepEqual(entries.map((s) => s.frontmatter.name), Object.keys(ABOUT).sort());
});

Deno.test("the checks fail on a made-up tool, an undeclared one, a made-up field and an omitted step", async () => {
  const [code] = (await everySkill()).filter((s) => s.name === "sms-one-time-code");
  assert.ok(code);
  const broken = {
    ...code,
    text: code.text.replaceAll("get_sms_status", "get_sms_state").replaceAll("idempotencyKey", "")
      .concat("\nThen call `lookup_hlr` and read `delivery_state`.\n"),
  };
  assert.deepEqual(problems(broken).sort(), [
    "names a tool that does not exist: get_sms_state",
    "omits get_sms_status",
    "omits idempotencyKey",
    "quotes `delivery_state`, which no tool, error code or setting has",
    "quotes `get_sms_state`, which no tool, error code or setting has",
    "requires get_sms_status but never names it",
    "uses lookup_hlr but does not require it",
  ]);
});

Deno.test("the skills give the configuration's defaults: the budget table, and each `VAR`, N by default", () => {
  const stated = Object.values(SKILL_FILES).flatMap((t) => [
    ...t.matchAll(/`([A-Z_]+)`, (\d+) by default/g),
  ]);
  assert.ok(stated.length >= 1);
  for (const [, name, shown] of stated) {
    assert.equal(shown, VARIABLES[name as keyof typeof VARIABLES]?.default, name);
  }
  const text = SKILL_FILES["sms-budget/SKILL.md"]!;
  const rows = [...text.matchAll(/^\| `([A-Z_]+)` +\|.*\| *([^|]+?) *\|$/gm)];
  assert.equal(rows.length, 4);
  for (const [, name, shown] of rows) {
    const variable = VARIABLES[name as keyof typeof VARIABLES];
    assert.ok(variable, `${name} is a setting`);
    assert.equal(shown!.trim(), variable.default === "" ? "no cap" : variable.default, name);
  }
});

Deno.test("a toolset offers exactly the skills whose tools it has", async () => {
  const toolsets = new Toolsets(TOOLS);
  const offered = async (path: string, header?: string) => {
    const set = toolsets.forPath(path)!;
    const narrowed = header ? toolsets.narrow(set, header) : set;
    assert.ok("names" in narrowed);
    return await skills.offered(narrowed.names);
  };
  assert.deepEqual(await offered("/mcp"), Object.keys(ABOUT).sort());
  assert.deepEqual(await offered("/mcp/readonly"), ["sms-budget", "sms-number-checks"]);
  assert.deepEqual(await offered("/mcp/x/sms:send"), ["sms-budget", "sms-one-time-code"]);
  assert.deepEqual(await offered("/mcp/x/sms:send,numbers:read"), [
    "sms-budget",
    "sms-one-time-code",
    "sms-to-a-list",
  ]);
  assert.deepEqual(await offered("/mcp/x/sender:write"), ["sms-sender-registration"]);
  assert.deepEqual(await offered("/mcp/x/hlr:lookup"), []);
  assert.deepEqual((await skills.catalogFor(new Set(), "private")).entries, []);
  assert.deepEqual(await offered("/mcp", "send_sms,get_sms_status"), ["sms-one-time-code"]);
  // Derived the same way for every toolset: a skill is offered iff each tool it needs is there.
  for (const path of ["/mcp/x/numbers:read,hlr:lookup,sms:rates", "/mcp/x/sms:rates"]) {
    const names = toolsets.forPath(path)!.names;
    const expected = entries.filter((s) => requiredTools(s.frontmatter).every((t) => names.has(t)));
    assert.deepEqual(await offered(path), expected.map((s) => s.frontmatter.name));
  }
});

Deno.test("docs/skills.md lists each skill's tools and each URL's skills as the server has them", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/skills.md", import.meta.url));
  const rows = (first: RegExp) =>
    doc.split("\n").filter((line) => first.test(line)).map((line) =>
      line.split("|").slice(1, -1).map((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]!))
    );
  const declared = Object.fromEntries(
    (await allEntries()).map((s) => [s.frontmatter.name, requiredTools(s.frontmatter)]),
  );
  const skillRows = rows(/^\| `sms-/);
  assert.deepEqual(
    Object.fromEntries(skillRows.map((cells) => [cells[0]![0], cells.at(-1)])),
    declared,
  );
  const toolsets = new Toolsets(TOOLS);
  const urlRows = rows(/^\| `(\/mcp|X-MCP-Tools)/);
  assert.ok(urlRows.length >= 5);
  for (const [first, names = []] of urlRows) {
    const url = first?.[0] ?? "";
    const header = /^X-MCP-Tools: (.*)$/.exec(url)?.[1];
    const set = toolsets.forPath(header ? "/mcp" : url)!;
    const narrowed = header ? toolsets.narrow(set, header) : set;
    assert.ok("names" in narrowed, url);
    const shown = names.length === 0 ? Object.keys(declared).sort() : names;
    assert.deepEqual(shown, await skills.offered(narrowed.names), url);
  }
});
