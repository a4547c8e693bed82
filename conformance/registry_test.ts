/**
 * `server.json`, the entry for the official MCP Registry: valid against the
 * registry's published JSON Schema (a pinned copy, `registry/`), validated
 * with Ajv (draft-07, as the schema declares); the same version as
 * `deno.json`; the same title, description, website and icon as `serverInfo`;
 * one remote `streamable-http` endpoint whose `Authorization` header is a
 * secret user input.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import formats from "ajv-formats";
import manifest from "../deno.json" with { type: "json" };
import {
  ICON_PATH,
  SERVER_DESCRIPTION,
  SERVER_TITLE,
  VERSION,
  WEBSITE_URL,
} from "../core/version.ts";

const SCHEMA = new URL("./registry/server.schema.json", import.meta.url);
const SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0";
const SERVER_JSON = new URL("../server.json", import.meta.url);

/** The registry's schema, compiled once. */
async function validator() {
  const schema = JSON.parse(await Deno.readTextFile(SCHEMA));
  // `strict: false`: the schema uses the OpenAPI `example` keyword, unknown to JSON Schema.
  const ajv = new Ajv({ strict: false, allErrors: true });
  // A CommonJS module: its default export is the module, whose `default` is the plugin.
  formats.default(ajv);
  return { schema, validate: ajv.compile(schema) };
}

interface Header {
  name: string;
  value?: string;
  isSecret?: boolean;
  variables?: Record<string, { isSecret?: boolean }>;
}

interface ServerJson {
  $schema: string;
  name: string;
  title: string;
  description: string;
  version: string;
  websiteUrl: string;
  icons: { src: string; mimeType: string; sizes: string[] }[];
  remotes: { type: string; url: string; headers: Header[] }[];
}

const serverJson = async () => JSON.parse(await Deno.readTextFile(SERVER_JSON)) as ServerJson;

Deno.test("the pinned registry schema is the published file, unchanged", async () => {
  const bytes = await Deno.readFile(SCHEMA);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  assert.equal([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""), SCHEMA_SHA256);
  const { schema } = await validator();
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assert.equal((await serverJson()).$schema, schema.$id, "server.json names this schema");
});

Deno.test("server.json is valid against the MCP Registry's schema", async () => {
  const { validate } = await validator();
  const valid = validate(await serverJson());
  assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
});

Deno.test("the validator refuses what the registry refuses", async () => {
  const { validate } = await validator();
  const good = await serverJson();
  const broken: [string, (s: ServerJson) => void][] = [
    ["a description over 100 characters", (s) => void (s.description = "x".repeat(101))],
    ["a name without a namespace", (s) => void (s.name = "vertexsms")],
    ["no version", (s) => void delete (s as Partial<ServerJson>).version],
    ["an unknown transport", (s) => void (s.remotes[0]!.type = "websocket")],
    ["a remote URL that is no http(s) URL", (s) => void (s.remotes[0]!.url = "mcp.vertexsms.com")],
    [
      "a header without a name",
      (s) => void delete (s.remotes[0]!.headers[0] as Partial<Header>).name,
    ],
    ["an icon of another type", (s) => void (s.icons[0]!.mimeType = "image/gif")],
  ];
  for (const [label, mutate] of broken) {
    const copy = structuredClone(good);
    mutate(copy);
    assert.equal(validate(copy), false, label);
  }
});

Deno.test("server.json says what the server says: version, title, description, website, icon", async () => {
  const s = await serverJson();
  assert.equal(s.version, manifest.version);
  assert.equal(s.version, VERSION);
  assert.equal(s.title, SERVER_TITLE);
  assert.equal(s.description, SERVER_DESCRIPTION);
  assert.equal(s.websiteUrl, WEBSITE_URL);
  assert.equal(s.remotes.length, 1);
  const [remote] = s.remotes;
  assert.equal(remote?.type, "streamable-http");
  const url = new URL(remote!.url);
  assert.equal(url.protocol, "https:");
  assert.equal(url.pathname, "/mcp");
  assert.deepEqual(s.icons, [
    { src: `${url.origin}${ICON_PATH}`, mimeType: "image/svg+xml", sizes: ["any"] },
  ]);
});

Deno.test("server.json's Authorization header is a secret user input sent as a bearer token", async () => {
  const [remote] = (await serverJson()).remotes;
  const headers = remote?.headers ?? [];
  assert.deepEqual(headers.map((h) => h.name), ["Authorization"]);
  const [auth] = headers;
  assert.equal(auth?.isSecret, true);
  const variable = /^Bearer \{([a-z_]+)\}$/.exec(auth?.value ?? "")?.[1];
  assert.ok(variable, `the value is "Bearer {variable}": ${auth?.value}`);
  assert.equal(auth?.variables?.[variable]?.isSecret, true);
});
