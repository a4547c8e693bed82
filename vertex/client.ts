/**
 * The VertexSMS REST client: one `fetch` per attempt with a timeout, no
 * redirects, a capped body, the caller's token in `X-VertexSMS-Token`. Tools
 * call typed methods ({@link VertexApi}) and get values in this server's own
 * vocabulary; every upstream failure leaves as a catalog `ServiceError`.
 */
import { z } from "zod";
import { traceUpstream } from "../core/telemetry.ts";
import {
  type Endpoint,
  type EndpointName,
  ENDPOINTS,
  READ_PATHS,
  type ReadEndpointName,
} from "./endpoints.ts";
import {
  type Answer,
  badResponse,
  checkStatus,
  classify,
  unreadable,
  type UpstreamCause,
  upstreamCause,
} from "./failures.ts";
import {
  type Correction,
  CorrectionRow,
  digits,
  dropUndefined,
  MccMncRow,
  type Network,
  type Operator,
  OperatorBody,
  parseJson,
  parseSenderId,
  type Prefix,
  PrefixRow,
  type Rate,
  RateRow,
  type SenderRequest,
  type SmsAccepted,
  type SmsRequest,
  TEST_MODE,
} from "./shapes.ts";

/** Options shared by every call of one client. */
export interface VertexClientOptions {
  baseUrl: string;
  timeoutMs: number;
  userAgent: string;
  /** Upper bound on an upstream body we read; larger answers are refused. */
  maxResponseBytes?: number;
  /** Told of every exchange that failed without an answer it could judge (a log's business). */
  onFailure?: (failure: UpstreamFailure) => void;
}

/** An exchange that failed without an answer: its cause, never the token or the body. */
export interface UpstreamFailure {
  requestId: string;
  route: string;
  attempt: number;
  cause: UpstreamCause;
  /** The failure in its own words, without the URL. */
  detail: string;
}

/** What one upstream exchange looked like, for logs and traces (never the token). */
export interface UpstreamEvent {
  method: string;
  route: string;
  status: number | null;
  durationMs: number;
  attempt: number;
  /** Why the exchange got no answer it could judge (refused, DNS, TLS, timeout, reset, ...). */
  cause?: UpstreamCause;
}

/** Per-request credentials and hooks. */
export interface Credentials {
  token: string;
  requestId: string;
  signal?: AbortSignal;
  observe?: (event: UpstreamEvent) => void;
}

const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The typed face of VertexSMS for one caller. */
export interface VertexApi {
  sendSms(sms: SmsRequest): Promise<SmsAccepted>;
  getRates(): Promise<Rate[]>;
  registerAlphanumericSender(sender: SenderRequest): Promise<number>;
  registerMsisdnSender(msisdnDigits: string): Promise<number>;
  confirmMsisdnSender(senderId: number, code: string): Promise<void>;
  startHlrLookup(msisdnDigits: string, callbackUrl: string): Promise<string>;
  getOperator(operatorId: number): Promise<Operator>;
  getNetworks(country: string, page: number): Promise<Network[]>;
  getPrefixes(country: string): Promise<Prefix[]>;
  correctNumbers(numbers: { number: string; country: string }[]): Promise<Correction[]>;
}

/** A VertexSMS client bound to a base URL; {@link VertexClient.as} binds it to a caller. */
export class VertexClient {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #maxBytes: number;
  readonly #onFailure: ((failure: UpstreamFailure) => void) | undefined;

  constructor(options: VertexClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    this.#userAgent = options.userAgent;
    this.#maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#onFailure = options.onFailure;
  }

  /** The host name of the upstream (for the HLR reachability check). */
  get host(): string {
    return new URL(this.#base).hostname;
  }

  /** The API as seen by one caller's token. */
  as(creds: Credentials): VertexApi {
    /** One call of `name`, its answer read by `read`; every failure as the catalog says. */
    const call = <T>(
      name: EndpointName,
      path: string,
      body: unknown,
      read: (answer: Answer) => T,
    ): Promise<T> => {
      const endpoint = ENDPOINTS[name];
      return this.#call(endpoint, path, body, creds).then(read).catch((error) => {
        throw unreadable(endpoint, error);
      });
    };
    return {
      sendSms: (sms) => {
        const { simulate, ...fields } = sms;
        const body = { ...fields, testMode: simulate ? TEST_MODE[simulate] : undefined };
        return call("sendSms", "/sms", dropUndefined(body), (answer) => {
          const ids = parseJson(answer, z.array(digits).min(1), "POST /sms");
          const amount = Number(answer.headers.get("x-vertexsms-amount-sent"));
          return {
            messageIds: ids,
            amountSent: Number.isInteger(amount) && amount > 0 ? amount : null,
          };
        });
      },
      getRates: () =>
        call(
          "rates",
          READ_PATHS.rates(),
          undefined,
          (answer) =>
            parseJson(answer, z.array(RateRow), "GET /rates").map((r) => ({
              country: r.CountryCode.toUpperCase(),
              country_name: r.CountryName ?? null,
              operator: r.Operator ?? "All",
              network: r.Network ?? r.Operator ?? "All",
              rate_eur: r.Rate,
              mcc: r.MCC ?? r.mcc ?? null,
              mnc: r.MNC ?? r.mnc ?? null,
            })),
        ),
      registerAlphanumericSender: (sender) =>
        call(
          "registerSender",
          "/senderId",
          dropUndefined({ ...sender, type: "AlphaNumeric" }),
          parseSenderId,
        ),
      registerMsisdnSender: (msisdnDigits) =>
        call("registerSender", "/senderId", { name: msisdnDigits, type: "MSISDN" }, parseSenderId),
      confirmMsisdnSender: (senderId, code) =>
        call("confirmSender", `/senderId/confirm/${senderId}`, { code }, () => {}),
      startHlrLookup: (msisdnDigits, callbackUrl) =>
        call("hlr", "/hlr", { msisdn: msisdnDigits, callBackUrl: callbackUrl }, (answer) => {
          const [id] = parseJson(answer, z.array(digits).min(1), "POST /hlr");
          return id as string;
        }),
      getOperator: (operatorId) =>
        call(
          "operator",
          READ_PATHS.operator(operatorId),
          undefined,
          (answer) => parseJson(answer, OperatorBody, "GET /operators/{id}"),
        ),
      getNetworks: (country, page) =>
        call(
          "mccMnc",
          READ_PATHS.mccMnc(country, page),
          undefined,
          (answer) =>
            parseJson(answer, z.array(MccMncRow), "GET /mccmnc/{country}").map((r) => ({
              mcc: r.mcc ?? r.MCC ?? "",
              mnc: r.mnc ?? r.MNC ?? "",
              operator_id: r.operatorId ?? null,
            })),
        ),
      getPrefixes: (country) =>
        call(
          "prefixes",
          READ_PATHS.prefixes(country),
          undefined,
          (answer) =>
            parseJson(answer, z.array(PrefixRow), "GET /prefixes/{country}").map((r) => ({
              prefix: r.prefix,
              operator_id: r.operatorId ?? null,
              operator: r.operator ?? null,
            })),
        ),
      correctNumbers: (numbers) =>
        call("correctNumbers", "/numbers/correct", numbers, (answer) => {
          const rows = parseJson(answer, z.array(CorrectionRow), "POST /numbers/correct");
          if (rows.length !== numbers.length) {
            throw badResponse("POST /numbers/correct", "returned a different number of rows");
          }
          return rows;
        }),
    };
  }

  /**
   * One read-only GET answered as it came, whatever its status: the view
   * `deno task record` needs (tools use {@link VertexClient.as}).
   */
  readRaw<K extends ReadEndpointName>(
    name: K,
    args: Parameters<typeof READ_PATHS[K]>,
    creds: Credentials,
  ): Promise<Answer & { path: string }> {
    const path = (READ_PATHS[name] as (...a: unknown[]) => string)(...args);
    return this.#exchange(ENDPOINTS[name], path, undefined, creds, () => {})
      .then((answer) => ({ ...answer, path }));
  }

  #call(endpoint: Endpoint, path: string, body: unknown, creds: Credentials): Promise<Answer> {
    return traceUpstream(
      endpoint.route,
      creds.observe,
      (observe) => this.#attempts(endpoint, path, body, { ...creds, observe }),
    );
  }

  async #attempts(
    endpoint: Endpoint,
    path: string,
    body: unknown,
    creds: Credentials,
  ): Promise<Answer> {
    const attempts = endpoint.safe ? 2 : 1;
    for (let attempt = 1;; attempt++) {
      const started = performance.now();
      let status: number | null = null;
      let cause: UpstreamCause | undefined;
      try {
        const answer = await this.#exchange(endpoint, path, body, creds, (s) => status = s);
        return checkStatus(endpoint, answer, creds.token);
      } catch (error) {
        const failed = upstreamCause(error);
        if (failed) {
          cause = failed.cause;
          this.#onFailure?.({
            requestId: creds.requestId,
            route: endpoint.route,
            attempt,
            ...failed,
          });
        }
        const failure = classify(endpoint, error, status !== null);
        if (failure.connection && attempt < attempts && !creds.signal?.aborted) continue;
        throw failure.error;
      } finally {
        creds.observe?.({
          method: endpoint.method,
          route: endpoint.route,
          status,
          durationMs: performance.now() - started,
          attempt,
          ...(cause && { cause }),
        });
      }
    }
  }

  async #exchange(
    endpoint: Endpoint,
    path: string,
    body: unknown,
    creds: Credentials,
    onStatus: (status: number) => void,
  ): Promise<Answer> {
    // A timer cleared when the call ends, not AbortSignal.timeout: that one keeps its timer,
    // signal and listeners alive for the whole timeout (10 s) after every call, which under
    // load is thousands of live objects promoted to the old generation (docs/performance.md).
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException("upstream timeout", "TimeoutError")),
      this.#timeoutMs,
    );
    const signal = creds.signal ? AbortSignal.any([creds.signal, timeout.signal]) : timeout.signal;
    try {
      return await this.#fetch(endpoint, path, body, creds, signal, onStatus);
    } finally {
      clearTimeout(timer);
    }
  }

  async #fetch(
    endpoint: Endpoint,
    path: string,
    body: unknown,
    creds: Credentials,
    signal: AbortSignal,
    onStatus: (status: number) => void,
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      "X-VertexSMS-Token": creds.token,
      "Accept": "application/json",
      "User-Agent": this.#userAgent,
      "X-Request-Id": creds.requestId,
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.#base + path, {
      method: endpoint.method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      // A redirect could carry the token header to another host: never follow one.
      redirect: "manual",
    });
    onStatus(response.status);
    const text = await readCapped(response, this.#maxBytes, endpoint.route);
    return { status: response.status, headers: response.headers, text };
  }
}

/** Read a body as text, refusing more than `max` bytes. */
async function readCapped(response: Response, max: number, route: string): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (declared > max) {
    await response.body?.cancel();
    throw badResponse(route, `answered with more than ${max} bytes`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw badResponse(route, `answered with more than ${max} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}
