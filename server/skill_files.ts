/**
 * The skills this server ships (`skills/<name>/…`, SEP-2640), embedded in
 * the module graph with text imports: `main.ts` needs no file access to serve
 * them, and Deno Deploy and `deno compile` carry them like any other module.
 * `server/mcp/skills_test.ts` checks that every file under `skills/` is here.
 */
import budget from "../skills/sms-budget/SKILL.md" with { type: "text" };
import budgetLimits from "../skills/sms-budget/references/limits.md" with { type: "text" };
import checks from "../skills/sms-number-checks/SKILL.md" with { type: "text" };
import checksHlr from "../skills/sms-number-checks/references/hlr-results.md" with {
  type: "text",
};
import code from "../skills/sms-one-time-code/SKILL.md" with { type: "text" };
import codeRetries from "../skills/sms-one-time-code/references/retry-rules.md" with {
  type: "text",
};
import sender from "../skills/sms-sender-registration/SKILL.md" with { type: "text" };
import senderNames from "../skills/sms-sender-registration/references/sender-names.md" with {
  type: "text",
};
import list from "../skills/sms-to-a-list/SKILL.md" with { type: "text" };
import listResults from "../skills/sms-to-a-list/references/batch-results.md" with {
  type: "text",
};

/** Every file of every skill, by its path under `skills/`. */
export const SKILL_FILES: Readonly<Record<string, string>> = {
  "sms-budget/SKILL.md": budget,
  "sms-budget/references/limits.md": budgetLimits,
  "sms-number-checks/SKILL.md": checks,
  "sms-number-checks/references/hlr-results.md": checksHlr,
  "sms-one-time-code/SKILL.md": code,
  "sms-one-time-code/references/retry-rules.md": codeRetries,
  "sms-sender-registration/SKILL.md": sender,
  "sms-sender-registration/references/sender-names.md": senderNames,
  "sms-to-a-list/SKILL.md": list,
  "sms-to-a-list/references/batch-results.md": listResults,
};
