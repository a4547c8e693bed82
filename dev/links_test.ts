/**
 * Every relative link in README.md and docs/*.md points at a file that
 * exists, and a `#fragment` at a heading of that file (GitHub's anchors).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** README.md and every Markdown page under docs/, as repository paths. */
async function documents(): Promise<string[]> {
  const docs: string[] = [];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) docs.push(`docs/${entry.name}`);
  }
  return ["README.md", ...docs.sort()];
}

/** The lines outside fenced code blocks, with inline code spans blanked. */
function prose(text: string): string[] {
  let fence = "";
  return text.split("\n").map((line) => {
    const marker = line.match(/^\s*(`{3,}|~{3,})/)?.[1];
    if (marker && (!fence || marker.startsWith(fence))) {
      fence = fence ? "" : marker;
      return "";
    }
    return fence ? "" : line.replace(/(`+)[^`]*?\1/g, "");
  });
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a page offers: one per heading (repeats numbered as GitHub does), and HTML ids. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = "";
  for (const line of text.split("\n")) {
    const marker = line.match(/^\s*(`{3,}|~{3,})/)?.[1];
    if (marker && (!fence || marker.startsWith(fence))) fence = fence ? "" : marker;
    if (fence) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
    const heading = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every link target of a page: inline links and images, and reference definitions. */
export function links(text: string): string[] {
  const out: string[] = [];
  for (const line of prose(text)) {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
    const ref = line.match(/^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/);
    if (ref) out.push(ref[1]!);
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, ROOT));
    return true;
  } catch {
    return false;
  }
}

Deno.test("the slug of a heading is GitHub's anchor", () => {
  assert.equal(slug("Toolsets: one URL per job"), "toolsets-one-url-per-job");
  assert.equal(
    slug("What each guard promises, and where it stops"),
    "what-each-guard-promises-and-where-it-stops",
  );
  assert.equal(
    slug("`SMS_CONFIRMATION` and `deno task dev`"),
    "sms_confirmation-and-deno-task-dev",
  );
  assert.equal(slug("Listing in the [MCP Registry](https://x)"), "listing-in-the-mcp-registry");
  assert.deepEqual([...anchors("# A\n## A\n```\n# not a heading\n```\n## B.")], ["a", "a-1", "b"]);
  assert.deepEqual(links('[a](x.md) `[b](y.md)` ![c](d.png "t")\n```\n[e](f.md)\n```\n[g]: h.md'), [
    "x.md",
    "d.png",
    "h.md",
  ]);
});

Deno.test("every relative link in the README and docs/ resolves", async () => {
  const broken: string[] = [];
  const cache = new Map<string, Set<string>>();
  const anchorsOf = async (path: string) => {
    if (!cache.has(path)) cache.set(path, anchors(await Deno.readTextFile(new URL(path, ROOT))));
    return cache.get(path)!;
  };
  let checked = 0;
  for (const page of await documents()) {
    const text = await Deno.readTextFile(new URL(page, ROOT));
    for (const target of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      checked++;
      const [file, fragment] = target.split("#", 2) as [string, string | undefined];
      const path = file
        ? decodeURIComponent(new URL(file, new URL(page, ROOT)).pathname)
          .slice(decodeURIComponent(ROOT.pathname).length)
        : page;

      if (!(await exists(path))) {
        broken.push(`${page}: ${target} (no such file)`);
      } else if (fragment && path.endsWith(".md") && !(await anchorsOf(path)).has(fragment)) {
        broken.push(`${page}: ${target} (no heading #${fragment} in ${path})`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} relative links found: is the parser broken?`);
  assert.deepEqual(broken, []);
});
