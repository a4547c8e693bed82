/**
 * `resources/*` and the skills methods (`skills/list`, `skills/get`,
 * `resources/directory/read`). The SDK's skills extension attaches to an
 * `McpServer`, which then owns the resource handlers: so a request naming one
 * of these methods gets a per-request `McpServer` holding the review card and
 * its toolset's skill catalog, whose `Server` then serves the whole request
 * (`mcp.ts` adds the tool handlers the request names, as for any request).
 * Every other request keeps its bare `Server` and never pays for this.
 */
import {
  type CacheHint,
  type Implementation,
  McpServer,
  type Server,
  type ServerOptions,
} from "@modelcontextprotocol/server";
import {
  RESOURCES_DIRECTORY_READ_METHOD,
  SKILLS_GET_METHOD,
  SKILLS_LIST_METHOD,
} from "@modelcontextprotocol/server/ext/skills";
import type { CardRegistration } from "./card.ts";
import { LIST_TTL_MS, PUBLIC_CACHE } from "./listing.ts";
import type { CacheScope, Skills } from "./skills.ts";

/** The methods served by the resource server (any one of them in a request selects it). */
export const RESOURCE_METHODS: readonly string[] = [
  "resources/list",
  "resources/read",
  "resources/templates/list",
  SKILLS_LIST_METHOD,
  SKILLS_GET_METHOD,
  RESOURCES_DIRECTORY_READ_METHOD,
];

/** What {@link ResourceServers} needs, given once at start-up. */
export interface ResourceServersOptions {
  serverInfo: Implementation;
  /** The options of every per-request server (capabilities included). */
  options: ServerOptions;
  card: CardRegistration;
  skills: Skills;
}

/** The toolset of a request, as the exchange carries it (all tools when absent). */
type Toolset = { names: ReadonlySet<string>; narrowed: boolean } | undefined;

/** Builds the per-request resource server. */
export class ResourceServers {
  readonly #serverInfo: Implementation;
  readonly #options: Record<CacheScope, ServerOptions>;
  readonly #tools: ServerOptions["capabilities"];
  readonly #card: CardRegistration;
  readonly #skills: Skills;

  constructor(options: ResourceServersOptions) {
    this.#serverInfo = options.serverInfo;
    // Declared after construction: an McpServer constructed with the tools capability would
    // register its own (empty) tool handlers, and the request's tool handlers are ours.
    const { tools, ...capabilities } = options.options.capabilities ?? {};
    this.#tools = { tools };
    const base = { ...options.options, capabilities };
    this.#options = {
      public: withListHints(base, PUBLIC_CACHE),
      private: withListHints(base, { ttlMs: LIST_TTL_MS, cacheScope: "private" }),
    };
    this.#card = options.card;
    this.#skills = options.skills;
  }

  /** A server with the card and the skills `toolset` offers (private cache hints when narrowed). */
  async server(toolset: Toolset): Promise<Server> {
    const scope: CacheScope = toolset?.narrowed ? "private" : "public";
    const catalog = await this.#skills.catalogFor(toolset?.names, scope);
    const mcp = new McpServer(this.#serverInfo, this.#options[scope]);
    this.#card(mcp);
    catalog.attach(mcp);
    mcp.server.registerCapabilities(this.#tools ?? {});
    return mcp.server;
  }
}

/** `options` with `hint` for the resource lists (they list the toolset's skills). */
function withListHints(options: ServerOptions, hint: CacheHint): ServerOptions {
  const cacheHints = {
    ...options.cacheHints,
    "resources/list": hint,
    "resources/templates/list": hint,
  };
  return { ...options, cacheHints };
}
