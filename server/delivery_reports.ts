/**
 * `POST /callbacks/dlr/{capability}`: VertexSMS's delivery reports for the
 * messages this server sent with a `dlrUrl` (`services/ledger.ts`).
 *
 * In order, each step before any work of the next: the allowed addresses
 * (`DLR_CALLBACK_ALLOWED_IPS`), the capability (it must open and name a
 * token), the body (at most 16 KiB, else 413), the report (JSON, form-encoded
 * or query parameters; an ASSUMED shape, see `vertex/shapes.ts`), and the
 * message (one the capability's owner sent). Anything refused is the same
 * `404 Not Found`, with nothing changed and nothing learned; an accepted
 * report is `200 OK` (a repeated or late one too: the final status stays).
 * The shared state failing is `503` (`app.ts`), which VertexSMS retries.
 *
 * Reports are not subject to the per-address limit of unauthenticated
 * requests: a busy account receives thousands a minute from VertexSMS's few
 * addresses, and none may be dropped.
 */
import { readRequestBody } from "@modelcontextprotocol/server";
import type { Context, Hono } from "hono";
import { nameRequestSpan } from "../core/telemetry.ts";
import type { Ledger } from "../services/mod.ts";
import { parseDeliveryReport } from "../vertex/mod.ts";
import { MAX_CAPABILITY_BODY_BYTES } from "./capabilities.ts";
import { restrictToIps } from "./middleware/client_ip.ts";
import type { AppEnv } from "./middleware/types.ts";

/** Largest report body accepted (a real one is under 200 bytes): every capability route's bound. */
export const MAX_REPORT_BYTES = MAX_CAPABILITY_BODY_BYTES;

/** The route as logs and spans name it (never with its capability). */
export const REPORT_ROUTE = "/callbacks/dlr/:capability";

/** What the route needs. */
export interface ReportRouteOptions {
  ledger: Ledger;
  /** CIDRs allowed to deliver (empty: any; the capability still authenticates). */
  allowedIps: readonly string[];
  trustProxy: boolean;
}

const notFound = (c: Context<AppEnv>) => c.text("Not Found", 404);

/** Add the delivery-report route to `app`. */
export function deliveryReportRoute(app: Hono<AppEnv>, options: ReportRouteOptions): void {
  const { ledger } = options;
  restrictToIps(app, "/callbacks/dlr/*", options.allowedIps, options.trustProxy);
  app.post(REPORT_ROUTE, async (c) => {
    nameRequestSpan("POST", REPORT_ROUTE);
    const owner = await ledger.owner(c.req.param("capability"));
    if (owner === null) return notFound(c);
    const read = await readRequestBody(c.req.raw, MAX_REPORT_BYTES);
    if (read.tooLarge) return c.text("Payload Too Large", 413);
    const report = parseDeliveryReport(reportFields(c.req.url, read.text));
    if (report === null) return notFound(c);
    return await ledger.deliver(owner, report) ? c.text("OK", 200) : notFound(c);
  });
  // Any other method or path below it: the same answer, nothing changed.
  app.all("/callbacks/dlr/*", notFound);
}

/**
 * A report's fields: the query parameters, overridden by a JSON object body
 * or a form-encoded one. `null` for a body that is neither.
 */
export function reportFields(url: string, body: string): Record<string, unknown> | null {
  const fields: Record<string, unknown> = Object.fromEntries(new URL(url).searchParams);
  const text = body.trim();
  if (text === "") return fields;
  if (text.startsWith("{")) {
    try {
      const json = JSON.parse(text);
      return json !== null && typeof json === "object" ? { ...fields, ...json } : null;
    } catch {
      return null;
    }
  }
  return { ...fields, ...Object.fromEntries(new URLSearchParams(text)) };
}
