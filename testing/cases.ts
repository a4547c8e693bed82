/**
 * Valid tool calls shared by the suites: what each returns and what
 * VertexSMS must have received. `tools_test.ts` checks them all; the scope
 * matrix reuses the first call of each tool.
 */

/** One valid call, what VertexSMS must receive, and what the result must hold. */
export interface ValidCase {
  tool: string;
  args: Record<string, unknown>;
  /**
   * `METHOD path` the fake must have seen (path with query); `null` for a
   * tool that asks VertexSMS nothing (it reads this server's own state).
   */
  upstream: string | null;
  /** The JSON body the fake must have received (exactly). */
  body?: unknown;
  /** The call also reads the (cached) rates, for the estimate in its result. */
  prices?: true;
  expect: Record<string, unknown>;
}

/** Valid calls of every tool, against the recordings of the fake. */
export const VALID: ValidCase[] = [
  {
    tool: "send_sms",
    args: { to: "+37069912345", from: "VertexSMS", message: "Your code is 4821" },
    upstream: "POST /sms",
    body: { to: "37069912345", from: "VertexSMS", message: "Your code is 4821" },
    expect: { status: "sent", parts: 1, destination: "+37069912345", encoding: "GSM-7" },
  },
  {
    tool: "send_sms",
    args: {
      to: "869912345",
      correctBy: "lt",
      from: "VertexSMS",
      message: "Sveiki! ąčęėįšųūž ".repeat(4),
      scheduled: "2026-12-01T09:00:00+02:00",
      priority: "high",
      expireIn: 3600,
    },
    upstream: "POST /sms",
    body: {
      to: "869912345",
      correctBy: "LT",
      from: "VertexSMS",
      message: "Sveiki! ąčęėįšųūž ".repeat(4),
      scheduled: "2026-12-01T09:00:00+02:00",
      priority: "high",
      expireIn: 3600,
    },
    expect: { status: "scheduled", parts: 2, destination: "869912345", encoding: "UCS-2" },
  },
  {
    tool: "send_sms",
    args: { to: "+37069555555", from: "+37060000001", message: "Hi", coding: 0 },
    upstream: "POST /sms",
    body: { to: "37069555555", from: "+37060000001", message: "Hi", coding: 0 },
    expect: { status: "sent", parts: 2, encoding: "GSM-7" },
  },
  {
    tool: "send_sms_batch",
    args: { to: ["+37069912345"], from: "VertexSMS", message: "The office is closed today." },
    upstream: "POST /sms",
    body: { to: "37069912345", from: "VertexSMS", message: "The office is closed today." },
    prices: true,
    expect: { status: "sent", count: 1, sent: 1, failed: 0, parts_total: 1 },
  },
  {
    tool: "get_sms_rates",
    args: { country: "LT" },
    upstream: "GET /rates/?format=json",
    expect: { country: "LT", country_name: "Lithuania", cache_age_seconds: 0 },
  },
  {
    tool: "get_sms_rates",
    args: { country: "AQ" },
    upstream: "GET /rates/?format=json",
    expect: { country: "AQ", country_name: null, rates: [] },
  },
  {
    tool: "register_sender_id",
    args: {
      name: "Shop-24",
      category: "Brand",
      categoryDescription: "Our registered trade mark",
      notificationUrl: "https://shop.example/hooks/sender",
    },
    upstream: "POST /senderId",
    body: {
      name: "Shop-24",
      category: "Brand",
      categoryDescription: "Our registered trade mark",
      notificationUrl: "https://shop.example/hooks/sender",
      type: "AlphaNumeric",
    },
    expect: { sender_id: 123, name: "Shop-24", type: "AlphaNumeric", status: "pending_review" },
  },
  {
    tool: "register_msisdn_sender",
    args: { msisdn: "+37069555555" },
    upstream: "POST /senderId",
    body: { name: "37069555555", type: "MSISDN" },
    expect: { sender_id: 124, msisdn: "+37069555555", status: "pin_sent" },
  },
  {
    tool: "confirm_msisdn_sender",
    args: { senderId: 124, code: "12345" },
    upstream: "POST /senderId/confirm/124",
    body: { code: "12345" },
    expect: { sender_id: 124, status: "confirmed" },
  },
  {
    tool: "lookup_hlr",
    args: { msisdn: "+37069912345", waitSeconds: 5 },
    upstream: "POST /hlr",
    expect: {
      lookup_id: "1203877133",
      msisdn: "+37069912345",
      status: "ok",
      error_code: 0,
      error_meaning: "no error",
      imsi: "2460210051600001",
      country: "LT",
      operator_id: 493,
      mcc: "246",
      mnc: "021",
      ported: null,
    },
  },
  {
    tool: "lookup_hlr",
    args: { msisdn: "+37061860698" },
    upstream: "POST /hlr",
    expect: { status: "ok", ported: { operator_id: 2, operator: "Telia", country: "LT" } },
  },
  {
    tool: "lookup_hlr",
    args: { msisdn: "+37060000040" },
    upstream: "POST /hlr",
    expect: { status: "error", error_code: 40, error_meaning: "HLR: subscriber unknown" },
  },
  {
    tool: "get_operator",
    args: { operatorId: 493 },
    upstream: "GET /operators/493",
    expect: { operator_id: 493, name: "BITE", country: "LT", mcc: "246", mnc: ["020", "028"] },
  },
  {
    tool: "get_operator",
    args: { operatorId: 2 },
    upstream: "GET /operators/2",
    expect: { operator_id: 2, name: "Telia", mcc: "246", mnc: ["001"] },
  },
  {
    tool: "get_mcc_mnc_list",
    args: { country: "lt" },
    upstream: "GET /mccmnc/LT?Page=1",
    expect: {
      country: "LT",
      page: 1,
      networks: [
        { mcc: "246", mnc: "001", operator_id: 2 },
        { mcc: "246", mnc: "020", operator_id: 493 },
        { mcc: "246", mnc: "003", operator_id: 3 },
      ],
    },
  },
  {
    tool: "get_mcc_mnc_list",
    args: { country: "LT", page: 2 },
    upstream: "GET /mccmnc/LT?Page=2",
    expect: { country: "LT", page: 2, networks: [] },
  },
  {
    tool: "get_mobile_prefixes",
    args: { country: "LT" },
    upstream: "GET /prefixes/LT",
    expect: {
      country: "LT",
      prefixes: [
        { prefix: "3706", operator_id: 493, operator: "BITE" },
        { prefix: "37061", operator_id: 2, operator: "Telia" },
        { prefix: "37062", operator_id: 3, operator: "Tele2" },
      ],
    },
  },
  {
    tool: "correct_phone_number",
    args: {
      numbers: [
        { number: "861860698", country: "LT" },
        { number: "12", country: "lv" },
        { number: "852123456", country: "LT" },
      ],
    },
    upstream: "POST /numbers/correct",
    body: [
      { number: "861860698", country: "LT" },
      { number: "12", country: "LV" },
      { number: "852123456", country: "LT" },
    ],
    expect: {
      count: 3,
      results: [
        {
          input_number: "861860698",
          country: "LT",
          number_type: "mobile",
          mobile: true,
          number_e164: "+37061860698",
          error: null,
        },
        {
          input_number: "12",
          country: "LV",
          number_type: "unknown",
          mobile: false,
          number_e164: null,
          error: "The number could not be corrected for this country.",
        },
        {
          input_number: "852123456",
          country: "LT",
          number_type: "landline",
          mobile: false,
          number_e164: "+37052123456",
          error: null,
        },
      ],
    },
  },
  {
    tool: "get_sms_status",
    args: { messageIds: ["1281532560"] },
    upstream: null,
    expect: {
      delivery_reports: "enabled",
      results: [{
        message_id: "1281532560",
        status: "unknown",
        error_code: null,
        error_meaning: null,
        destination: null,
        parts: null,
        batch_id: null,
        sent_at: null,
        updated_at: null,
      }],
    },
  },
  {
    tool: "get_sms_usage",
    args: { recent: 0 },
    upstream: null,
    expect: {
      test_mode: false,
      delivery_reports: "enabled",
      recent: [],
      consent: { opt_outs: 0, quiet_hours: null, per_recipient_per_day: null },
    },
  },
  {
    tool: "manage_opt_outs",
    args: { action: "check", numbers: ["+37069912345"] },
    upstream: null,
    expect: { action: "check", changed: 0, unchanged: 1, opted_out: [] },
  },
];

/** The first valid call of each tool, by tool name. */
export const ONE_CALL_PER_TOOL: ReadonlyMap<string, ValidCase> = new Map(
  VALID.toReversed().map((kase) => [kase.tool, kase]),
);
