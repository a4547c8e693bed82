/**
 * The skills each toolset offers (MCP Skills, SEP-2640), served by the SDK's
 * skills extension (`@modelcontextprotocol/server/ext/skills`).
 *
 * Each skill says in its own front matter which tools it needs
 * (`metadata.requires-tools`, space-separated tool names); a toolset offers
 * the skills whose tools it has all of, so `/mcp/readonly` never offers a
 * skill that sends. One `SkillCatalog` per set of offered skills and cache
 * scope, built once per process when first asked for and shared by every
 * request (a catalog keeps the files' digests; each read is checked against
 * them).
 */
import {
  memorySkillFiles,
  SkillCatalog,
  SKILLS_EXTENSION_ID,
  type SkillWarning,
} from "@modelcontextprotocol/server/ext/skills";
import type { Logger } from "../../core/log.ts";
import { LIST_TTL_MS } from "./listing.ts";

/** The first segment of every skill URI: `skill://vertexsms/<skill>/SKILL.md`. */
export const SKILLS_PREFIX = "vertexsms";

/** The extension as the capabilities declare it (with `resources/directory/read`). */
export const SKILLS_CAPABILITY = { [SKILLS_EXTENSION_ID]: { directoryRead: true } } as const;

/** The front matter key listing the tools a skill needs. */
export const REQUIRES_TOOLS = "requires-tools";

/**
 * `public`: the same for every caller of a toolset URL; `private`: narrowed
 * by the `X-MCP-Tools` header, which a shared cache's key does not hold.
 */
export type CacheScope = "public" | "private";

/** The tools a skill entry's front matter says it needs. */
export function requiredTools(frontmatter: Record<string, unknown>): string[] {
  const metadata = frontmatter.metadata as Record<string, unknown> | undefined;
  const listed = metadata?.[REQUIRES_TOOLS];
  return typeof listed === "string" ? listed.split(/\s+/).filter((s) => s.length > 0) : [];
}

/** The skill catalogs of one server, per toolset. */
export class Skills {
  readonly #files: Readonly<Record<string, string>>;
  readonly #tools: ReadonlySet<string>;
  readonly #logger: Logger;
  /** Skill name → the tools it needs; from every skill's front matter, parsed once. */
  readonly #needs: Promise<ReadonlyMap<string, readonly string[]>>;
  readonly #catalogs = new Map<string, Promise<SkillCatalog>>();

  /**
   * `files` by path under the skills folder (`<skill>/SKILL.md`, …); `tools`
   * the names of every tool the server has. Every skill is parsed now: a
   * malformed one fails loudly right after start (the tests load each
   * strictly, so none ships).
   */
  constructor(files: Readonly<Record<string, string>>, tools: Iterable<string>, logger: Logger) {
    this.#files = files;
    this.#tools = new Set(tools);
    this.#logger = logger;
    this.#needs = this.#load(files, "public").then((all) =>
      new Map(all.entries.map((s) => [s.frontmatter.name, requiredTools(s.frontmatter)]))
    );
  }

  /** The names of the skills a toolset offers (every tool of the server when `names` is absent). */
  async offered(names: ReadonlySet<string> = this.#tools): Promise<string[]> {
    const needs = await this.#needs;
    return [...needs].filter(([, tools]) => tools.every((t) => names.has(t)))
      .map(([skill]) => skill).sort();
  }

  /** The catalog of the skills a toolset offers, with `scope`'s cache hints. */
  async catalogFor(
    names: ReadonlySet<string> | undefined,
    scope: CacheScope,
  ): Promise<SkillCatalog> {
    const skills = await this.offered(names);
    const key = `${scope}:${skills.join(",")}`;
    let catalog = this.#catalogs.get(key);
    if (!catalog) {
      const wanted = new Set(skills);
      const files = Object.fromEntries(
        Object.entries(this.#files).filter(([path]) => wanted.has(path.split("/")[0]!)),
      );
      this.#catalogs.set(key, catalog = this.#load(files, scope));
    }
    return await catalog;
  }

  /** Build a catalog; a skill the SDK finds fault with fails it (`strict`). */
  #load(files: Readonly<Record<string, string>>, scope: CacheScope): Promise<SkillCatalog> {
    return SkillCatalog.load(memorySkillFiles({ ...files }), {
      prefix: SKILLS_PREFIX,
      strict: true,
      // Skills change only with a deployment, like the tool list.
      cacheHint: { ttlMs: LIST_TTL_MS, cacheScope: scope },
      onWarning: (warning) => this.#warn(warning),
    });
  }

  #warn(warning: SkillWarning): void {
    // A toolset may offer no skill at all: an empty catalog is expected there.
    if (warning.path === ".") return;
    this.#logger.warn("skill catalog warning", { path: warning.path, problem: warning.message });
  }
}
