/**
 * `tools/list`: each tool's declaration converted to the JSON Schema the
 * protocol advertises, and the list results of each toolset.
 *
 * Both are built once per process and shared by every request: a tool is
 * converted when first listed or called (not at start: the conversions took
 * a tenth of the time to the first `tools/call`), and a toolset's results
 * (the 2025 one, and the 2026 ones with their cache fields) when first
 * listed, keyed by its name set (shared by its requests). So every
 * `tools/list` answers the same objects. The listings stay ASCII (the
 * snapshot test checks it): one non-ASCII character made V8 hold each
 * serialized list as a two-byte string, transcoded for the wire.
 */
import type { ServerContext, Tool } from "@modelcontextprotocol/server";
import type { AnyTool } from "../../tools/mod.ts";
import { REVIEW_CARD_URI, REVIEWED_TOOLS } from "../review_card.ts";
import { jsonSchema } from "./json_schema.ts";

/**
 * How long a client may treat `tools/list` and `server/discover` as fresh
 * (2026-07-28 cache hints): both change only when a new version is deployed,
 * so an hour bounds how long a client keeps the old list after an upgrade.
 */
export const LIST_TTL_MS = 3_600_000;

/** The same for every caller of a URL, so shared caches may keep them for {@link LIST_TTL_MS}. */
export const PUBLIC_CACHE = { ttlMs: LIST_TTL_MS, cacheScope: "public" } as const;

/** The `tools/list` results of one toolset, per era and cache scope. */
export interface ListResults {
  legacy: { tools: Tool[] };
  public: { tools: Tool[]; ttlMs: number; cacheScope: "public" };
  private: { tools: Tool[]; ttlMs: number; cacheScope: "private" };
}

/** The tools as listed, converted once per process. */
export class Listing {
  readonly #tools: readonly AnyTool[];
  readonly #converted = new Map<string, Tool>();
  readonly #byToolset = new WeakMap<ReadonlySet<string>, ListResults>();
  #all: ListResults | undefined;

  constructor(tools: readonly AnyTool[]) {
    this.#tools = tools;
  }

  /** A tool as `tools/list` shows it (the same object every time). */
  described(tool: AnyTool): Tool {
    let listed = this.#converted.get(tool.name);
    if (!listed) this.#converted.set(tool.name, listed = describe(tool));
    return listed;
  }

  /** The results of a toolset (its name set), or of every tool when `names` is absent. */
  resultsFor(names: ReadonlySet<string> | undefined): ListResults {
    if (names === undefined) return this.#all ??= this.#results(this.#tools);
    let lists = this.#byToolset.get(names);
    if (!lists) {
      this.#byToolset.set(
        names,
        lists = this.#results(this.#tools.filter((t) => names.has(t.name))),
      );
    }
    return lists;
  }

  #results(tools: readonly AnyTool[]): ListResults {
    return listResults(tools.map((tool) => this.described(tool)));
  }
}

/**
 * The result one `tools/list` answers: the 2025 one without an envelope; on
 * 2026-07-28, private for a list narrowed by the `X-MCP-Tools` header (it
 * depends on a request header a cache key does not hold), else public.
 */
export function listResult(lists: ListResults, ctx: ServerContext, narrowed: boolean) {
  return ctx.mcpReq.envelope === undefined ? lists.legacy : narrowed ? lists.private : lists.public;
}

/** A tool's `tools/list` entry. */
function describe(tool: AnyTool): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: jsonSchema(tool.input, "input"),
    outputSchema: jsonSchema(tool.output, "output"),
    annotations: { title: tool.title, ...tool.annotations },
    // The MCP Apps review card (hosts without the extension ignore `_meta.ui`).
    ...(REVIEWED_TOOLS.has(tool.name) && { _meta: { ui: { resourceUri: REVIEW_CARD_URI } } }),
  };
}

/**
 * A toolset's `tools/list` results, with their 2026-07-28 cache fields set
 * here rather than by the SDK's `cacheHints`, whose fallback reaches the wire
 * through a copy V8 keeps in dictionary mode: serializing a 20 KB list under
 * it took three times as long.
 */
function listResults(tools: Tool[]): ListResults {
  return {
    legacy: { tools },
    public: { tools, ...PUBLIC_CACHE },
    private: { tools, ttlMs: LIST_TTL_MS, cacheScope: "private" },
  };
}
