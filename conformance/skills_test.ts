/**
 * The skills (SEP-2640) through a real client: the v2 SDK client's skills
 * helper (`SkillsClient`, `@modelcontextprotocol/client/ext/skills`) lists,
 * gets, reads and verifies every file of every skill against its digest, in
 * both protocol eras (the 2025 `initialize` handshake, and 2026-07-28); a
 * toolset URL offers only the skills whose tools it serves, and serves no
 * file of another; the lists carry cache hints (private when narrowed by
 * `X-MCP-Tools`).
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { SkillsClient } from "@modelcontextprotocol/client/ext/skills";
import assert from "node:assert/strict";
import { Logger } from "../core/log.ts";
import { Skills } from "../server/mcp/skills.ts";
import { SKILL_FILES } from "../server/skill_files.ts";
import { Toolsets } from "../server/toolsets.ts";
import { DEMO_TOKENS, type Harness, MODERN, startHarness } from "../testing/harness.ts";
import { TOOLS } from "../tools/mod.ts";

const TOKEN = DEMO_TOKENS.full;
const ERAS = ["2025-11-25", MODERN] as const;

/** The skills this server offers on a toolset, from their front matter (see `skills_test.ts`). */
const skills = new Skills(SKILL_FILES, TOOLS.map((t) => t.name), new Logger("error", () => {}));

/** A v2 client on `url` speaking `era`, with its skills helper. */
async function connect(url: string, era: string, headers: Record<string, string> = {}) {
  const client = new Client(
    { name: "skills-check", version: "1.0.0" },
    era === MODERN ? { versionNegotiation: { mode: { pin: MODERN } } } : {},
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${TOKEN}`, ...headers } },
  });
  await client.connect(transport);
  return { client, skills: new SkillsClient(client) };
}

/** Run `body` against a fresh server. */
async function withServer(body: (h: Harness) => Promise<void>): Promise<void> {
  const h = startHarness();
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

for (const era of ERAS) {
  Deno.test(`${era}: the v2 client's skills helper lists, gets and reads every skill, each file verified`, async () => {
    await withServer(async (h) => {
      const { client, skills: helper } = await connect(h.mcpUrl, era);
      try {
        assert.equal(client.getNegotiatedProtocolVersion(), era);
        assert.ok(helper.supported && helper.directoryRead, "declares skills with directoryRead");
        const listing = await helper.list();
        assert.deepEqual(listing.invalid, []);
        const names = listing.skills.map((s) => s.frontmatter.name);
        assert.deepEqual(names, await skills.offered());
        assert.ok(names.length >= 2, `skills on /mcp: ${names}`);
        for (const skill of listing.skills) {
          assert.deepEqual((await helper.get(skill.uri)).skill, skill);
          const manifest = await helper.read(skill);
          assert.ok(manifest.verified);
          assert.deepEqual(manifest.frontmatter, skill.frontmatter);
          assert.match(manifest.body ?? "", /^# /m);
          assert.ok(Array.isArray(skill.resources));
          for (const file of skill.resources.filter((r) => r.uri !== skill.uri)) {
            const read = await helper.read(skill, file.uri);
            assert.ok(read.verified && read.text?.startsWith("# "), file.uri);
            assert.equal(read.mimeType, "text/markdown");
          }
          const dir = await helper.readDirectory(skill.uri.replace(/\/SKILL\.md$/, ""));
          assert.deepEqual(dir.resources.map((r) => [r.name, r.mimeType]), [
            ["SKILL.md", "text/markdown"],
            ["references", "inode/directory"],
          ]);
        }
        await assert.rejects(
          () => helper.get("skill://vertexsms/no-such-skill/SKILL.md"),
          (e: { code?: number }) => e.code === -32602,
        );
        // The SKILL.md files are resources too, beside the review card.
        const { resources } = await client.listResources();
        assert.deepEqual(
          resources.filter((r) => r.uri.startsWith("skill://")).map((r) => r.name),
          names,
        );
      } finally {
        await client.close();
      }
    });
  });
}

Deno.test("2026-07-28: skills, their files and the resource list carry one hour's cache hints, private when X-MCP-Tools narrows them", async () => {
  const cases = [
    { headers: {}, scope: "public" },
    {
      headers: { "X-MCP-Tools": "correct_phone_number,get_sms_rates,lookup_hlr" },
      scope: "private",
    },
  ] as const;
  await withServer(async (h) => {
    for (const { headers, scope } of cases) {
      const { client, skills: helper } = await connect(h.mcpUrl, MODERN, headers);
      try {
        const listing = await helper.list();
        assert.deepEqual([listing.ttlMs, listing.cacheScope], [3_600_000, scope]);
        if (scope === "private") {
          assert.deepEqual(listing.skills.map((s) => s.frontmatter.name), ["sms-number-checks"]);
        }
        const file = await client.readResource({ uri: listing.skills[0]!.uri });
        assert.deepEqual([file.ttlMs, file.cacheScope], [3_600_000, scope]);
        const list = await client.listResources();
        assert.deepEqual([list.ttlMs, list.cacheScope], [3_600_000, scope]);
      } finally {
        await client.close();
      }
    }
  });
});

Deno.test("a toolset URL offers only the skills its tools serve, and no file of another", async () => {
  const toolsets = new Toolsets(TOOLS);
  const elsewhere = "skill://vertexsms/sms-sender-registration/SKILL.md";
  await withServer(async (h) => {
    for (const era of ERAS) {
      for (const path of ["/mcp/readonly", "/mcp/x/sender:write", "/mcp/x/hlr:lookup"]) {
        const { client, skills: helper } = await connect(`${h.server.url}${path}`, era);
        try {
          const offered = (await helper.list()).skills.map((s) => s.frontmatter.name);
          assert.deepEqual(offered, await skills.offered(toolsets.forPath(path)!.names));
          // A skill another toolset offers is unknown here, as a skill and as a file.
          if (!offered.includes("sms-sender-registration")) {
            await assert.rejects(
              () => helper.get(elsewhere),
              (e: { code?: number }) => e.code === -32602,
            );
            await assert.rejects(
              () => client.readResource({ uri: elsewhere }),
              (e: { code?: number }) => e.code === -32602,
            );
          } else assert.equal(path, "/mcp/x/sender:write");
        } finally {
          await client.close();
        }
      }
    }
  });
});
