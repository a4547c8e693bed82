/**
 * Test mode (`SMS_TEST_MODE`): a sandbox on a real account, where no real
 * message leaves and nothing is billed, whatever the tool. `send_sms`
 * simulates through VertexSMS's own `testMode`; VertexSMS has no such mode
 * for a PIN text or an HLR lookup, so those tools refuse before any upstream
 * call rather than answer something invented.
 */
import { ServiceError } from "../core/errors.ts";
import type { ToolContext } from "./context.ts";

/** Refuse `tool` when the server runs in test mode: it would `effect` for real. */
export function refuseInTestMode(ctx: ToolContext, tool: string, effect: string): void {
  const mode = ctx.services.smsTestMode;
  if (mode === "off") return;
  throw new ServiceError(
    "TEST_MODE_REFUSED",
    `This server runs in SMS test mode (SMS_TEST_MODE=${mode}), where nothing real may happen: ` +
      `${tool} would ${effect}, which VertexSMS cannot simulate. Nothing was sent or billed. ` +
      "Use a server without SMS_TEST_MODE for this.",
  );
}
