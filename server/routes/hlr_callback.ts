/**
 * `POST /callbacks/hlr/{id}`: VertexSMS's HLR results for `lookup_hlr` calls
 * waiting on them (`services/hlr_broker.ts`), a capability route
 * (`capabilities.ts`). An address outside `HLR_CALLBACK_ALLOWED_IPS` or an id
 * no lookup waits for is `404 Not Found`; a body that is no HLR result is
 * `400` and spends the id.
 */
import type { Hono } from "hono";
import type { HlrBroker } from "../../services/mod.ts";
import { parseHlrCallback } from "../../vertex/mod.ts";
import { restrictToIps } from "../middleware/client_ip.ts";
import type { AppEnv } from "../middleware/types.ts";

/** What the route needs. */
export interface HlrCallbackOptions {
  hlr: HlrBroker;
  /** CIDRs allowed to deliver (empty: any; the id still authenticates). */
  allowedIps: readonly string[];
  trustProxy: boolean;
}

/** Add the HLR callback route to `app`. */
export function hlrCallbackRoute(app: Hono<AppEnv>, options: HlrCallbackOptions): void {
  const { hlr } = options;
  restrictToIps(app, "/callbacks/hlr/*", options.allowedIps, options.trustProxy);
  app.post("/callbacks/hlr/:id", async (c) => {
    // The id is the callback's credential (a capability route: its body is bounded already).
    // A delivery that cannot be read spends it: the lookup fails now rather than at its timeout.
    const id = c.req.param("id");
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return c.text("Not Found", 404);
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      await hlr.spoil(id);
      return c.text("Bad Request: body is not JSON", 400);
    }
    const result = parseHlrCallback(body);
    if (!result) {
      await hlr.spoil(id);
      return c.text("Bad Request: not an HLR result", 400);
    }
    return await hlr.deliver(id, result) ? c.text("OK", 200) : c.text("Not Found", 404);
  });
}
