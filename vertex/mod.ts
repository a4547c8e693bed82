/**
 * VertexSMS: the only code that knows its wire format — endpoints and paths,
 * request and answer shapes, the per-caller client, and how failures map to
 * the error catalog.
 */
export {
  type Credentials,
  type UpstreamEvent,
  type UpstreamFailure,
  type VertexApi,
  VertexClient,
  type VertexClientOptions,
} from "./client.ts";
export { type EndpointName, ENDPOINTS, READ_PATHS, type ReadEndpointName } from "./endpoints.ts";
export type { Answer, UpstreamCause } from "./failures.ts";
export {
  codeMeaning,
  type Correction,
  type DeliveryReport,
  type FinalStatus,
  type HlrResult,
  type Network,
  type Operator,
  parseDeliveryReport,
  parseHlrCallback,
  type Prefix,
  type Rate,
  REPORT_STATUSES,
  type SenderRequest,
  type SimulatedOutcome,
  type SmsAccepted,
  type SmsRequest,
  VERTEX_CODES,
} from "./shapes.ts";
