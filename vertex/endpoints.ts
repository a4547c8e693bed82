/**
 * Every VertexSMS endpoint this server calls: method, route, the scope that
 * grants it, whether it may be retried, and how a refusal is reported; and
 * the paths of the read-only ones. A correction to the upstream contract
 * (`vertexsms-api.md`) is a change here.
 */
import type { Scope } from "../core/scopes.ts";

/** One upstream endpoint: its route, the scope that grants it, and its retry safety. */
export interface Endpoint {
  method: "GET" | "POST";
  /** The route as VertexSMS's token settings name it (for messages). */
  route: string;
  scope: Scope;
  /**
   * Read-only and not billable: may be retried once on a connection error,
   * and a timeout is retryable. Unsafe calls are never retried, and a
   * timeout leaves their outcome unknown.
   */
  safe: boolean;
  /** Which catalog code a 400/409 becomes. */
  rejection: "VERTEX_SEND_FAILED" | "VERTEX_REQUEST_REJECTED";
}

/** Every endpoint this server calls. */
export const ENDPOINTS = {
  // Carries `dlrUrl` when delivery reports are on: VertexSMS then POSTs reports for the message
  // there (our `POST /callbacks/dlr/{capability}`; their shape in `shapes.ts`, assumed).
  sendSms: {
    method: "POST",
    route: "POST /sms",
    scope: "sms:send",
    safe: false,
    rejection: "VERTEX_SEND_FAILED",
  },
  rates: {
    method: "GET",
    route: "GET /rates",
    scope: "sms:rates",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  registerSender: {
    method: "POST",
    route: "POST /senderId",
    scope: "sender:write",
    safe: false,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  confirmSender: {
    method: "POST",
    route: "POST /senderId/confirm/{id}",
    scope: "sender:write",
    safe: false,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  hlr: {
    method: "POST",
    route: "POST /hlr",
    scope: "hlr:lookup",
    safe: false,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  operator: {
    method: "GET",
    route: "GET /operators/{id}",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  mccMnc: {
    method: "GET",
    route: "GET /mccmnc/{country}",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  prefixes: {
    method: "GET",
    route: "GET /prefixes/{country}",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  correctNumbers: {
    method: "POST",
    route: "POST /numbers/correct",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
} as const satisfies Record<string, Endpoint>;

/** Name of an upstream endpoint. */
export type EndpointName = keyof typeof ENDPOINTS;

/** Paths of the read-only GET endpoints (the tools' and `deno task record`'s). */
export const READ_PATHS = {
  rates: () => "/rates/?format=json",
  operator: (operatorId: number) => `/operators/${operatorId}`,
  mccMnc: (country: string, page: number) => `/mccmnc/${encodeURIComponent(country)}?Page=${page}`,
  prefixes: (country: string) => `/prefixes/${encodeURIComponent(country)}`,
} as const satisfies Partial<Record<EndpointName, (...args: never[]) => string>>;

/** A read-only GET endpoint. */
export type ReadEndpointName = keyof typeof READ_PATHS;
