/**
 * Writes `testing/fake/recordings/rates.json`: a world price list in the exact shape of
 * `GET /rates/?format=json`, about the size of the real one (~190 KB).
 *
 * The rows are synthesized (deterministic, from the public docs' Lithuanian
 * example plus ICU's region names) because no real token was available when
 * the fake was built; `deno task record` replaces them with a real recording.
 *
 *   deno run --allow-write dev/synthesize_rates.ts
 */

// Not countries, or (Antarctica) no mobile network: an uncovered destination for tests.
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "ZZ", "QO", "AN", "XA", "XB", "AQ"]);
const OPERATORS = ["Vodafone", "Orange", "Telekom", "Tele2", "Telia", "Airtel", "Movistar", "MTN"];

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Build the rows. */
export function synthesizeRates(): Record<string, string | null>[] {
  const names = new Intl.DisplayNames(["en"], { type: "region" });
  const rows: Record<string, string | null>[] = [
    {
      CountryName: "Lithuania",
      CountryCode: "LT",
      Operator: "BITE",
      Network: "Bite",
      MCC: "246",
      MNC: "020",
      Rate: "0.045",
    },
    {
      CountryName: "Lithuania",
      CountryCode: "LT",
      Operator: "Telia",
      Network: "Telia Lietuva",
      MCC: "246",
      MNC: "001",
      Rate: "0.048",
    },
    {
      CountryName: "Lithuania",
      CountryCode: "LT",
      Operator: "Tele2",
      Network: "Tele2",
      MCC: "246",
      MNC: "003",
      Rate: "0.044",
    },
    {
      CountryName: "Lithuania",
      CountryCode: "LT",
      Operator: "All other carriers",
      Network: "All other carriers",
      MCC: "246",
      MNC: null,
      Rate: "0.050",
    },
  ];
  const random = prng(246);
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      if (code === "LT" || NOT_COUNTRIES.has(code)) continue;
      const name = names.of(code);
      if (!name || name === code) continue;
      const mcc = String(200 + Math.floor(random() * 550));
      const count = 2 + Math.floor(random() * 8);
      for (let i = 0; i < count; i++) {
        const last = i === count - 1;
        const operator = last ? "All other carriers" : `${OPERATORS[i % OPERATORS.length]} ${code}`;
        rows.push({
          CountryName: name,
          CountryCode: code,
          Operator: operator,
          Network: last ? operator : `${operator} Mobile`,
          MCC: mcc,
          MNC: last ? null : String(i + 1).padStart(2, "0"),
          Rate: (0.01 + random() * 0.2).toFixed(4),
        });
      }
    }
  }
  return rows;
}

if (import.meta.main) {
  const recording = {
    name: "rates",
    note:
      "Synthesized in the shape of GET /rates/?format=json (see synthesize_rates.ts); LT rows from the public docs.",
    request: { method: "GET", path: "/rates/" },
    response: { status: 200, body: synthesizeRates() },
  };
  const path = new URL("../testing/fake/recordings/rates.json", import.meta.url);
  await Deno.writeTextFile(path, JSON.stringify([recording], null, 1) + "\n");
  console.log(`wrote ${path.pathname}: ${recording.response.body.length} rows`);
}
