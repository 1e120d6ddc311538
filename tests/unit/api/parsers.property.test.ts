// Property-based tests (fast-check) of the parsers of user input that need no database: the edge's
// body/path/query checks (server/api/input.ts), import lines (parseRow), rubric templates and
// label schemas. Each property is checked against an independent model of what is storable,
// plus the fixed cases a probe found (NUL, lone surrogates, bad %-encoding, 5,000-deep JSON).
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import {
  MAX_JSON_DEPTH,
  badText,
  decodePathSegment,
  findBadQuery,
  jsonDepth,
  parseJsonBody,
} from "@/server/api/input";
import { parseRow, RowError } from "@/server/data/import/formats";
import { renderTemplate, validateRubric } from "@/server/judges/rubrics";
import { LabelSchema, ProjectSettings } from "@/server/projects/schema";
import { isDomainError } from "@/server/errors";

// --- an independent model of "PostgreSQL can store this string" -------------------------------
function storable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
function allStorable(v: unknown): boolean {
  if (typeof v === "string") return storable(v);
  if (Array.isArray(v)) return v.every(allStorable);
  if (v && typeof v === "object") return Object.entries(v).every(([k, x]) => storable(k) && allStorable(x));
  return true;
}
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}
const nest = (n: number, open = "[", close = "]") => open.repeat(n) + close.repeat(n);

// Strings that include what cannot be stored: NUL, lone high and low surrogates.
const nasty = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.constantFrom("\u0000", "\ud800", "\udfff", "a\ud83d", "\ude00b", "ok", "\ud83d\ude00"),
  fc.string({ unit: fc.constantFrom("a", "\u0000", "\ud800", "\udc00", "é", "{", "}", "%") }),
);
const jsonWithNasty = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    nasty,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(nasty, tie("value"), { maxKeys: 4 }),
  ),
})).value;

describe("request bodies (parseJsonBody)", () => {
  test("jsonDepth measures the nesting of any JSON value without parsing it", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(jsonDepth(JSON.stringify(v))).toBe(depthOf(v));
      }),
    );
  });

  test("accepts exactly the JSON whose strings and keys are all storable; never throws", () => {
    fc.assert(
      fc.property(jsonWithNasty, (v) => {
        const r = parseJsonBody(JSON.stringify(v));
        expect(r.ok).toBe(allStorable(v));
        if (r.ok) expect(r.value).toEqual(JSON.parse(JSON.stringify(v)));
        else expect(r.reason).toMatch(/^body(\.|:)/);
      }),
    );
  });

  test("arbitrary text never throws, and answers a reason when it is not JSON", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        let parsed: unknown;
        let valid = true;
        try {
          parsed = JSON.parse(text);
        } catch {
          valid = false;
        }
        const r = parseJsonBody(text);
        if (!valid) expect(r).toEqual({ ok: false, reason: expect.stringMatching(/not valid JSON/) });
        else expect(r.ok).toBe(allStorable(parsed) && depthOf(parsed) <= MAX_JSON_DEPTH);
      }),
    );
  });

  test("depth: refused past the limit before parsing, accepted at it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), (n, objects) => {
        const text = objects ? '{"a":'.repeat(n) + "1" + "}".repeat(n) : nest(n);
        const r = parseJsonBody(text);
        expect(r.ok).toBe(n <= MAX_JSON_DEPTH);
        if (!r.ok) expect(r.reason).toMatch(new RegExp(`nested ${n} levels deep`));
      }),
      { numRuns: 50 },
    );
  });

  test("fixed examples from the probe", () => {
    expect(parseJsonBody('{"rationale":"a\\u0000b"}')).toEqual({
      ok: false,
      reason: "body.rationale: contains a NUL character (U+0000), which cannot be stored",
    });
    expect(parseJsonBody('{"x":["ok","\\ud800"]}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^body\.x\.1: contains an unpaired UTF-16 surrogate/),
    });
    expect(parseJsonBody('{"\\udc00":1}')).toMatchObject({ ok: false, reason: /^body: a key contains/ });
    expect(parseJsonBody(nest(5000))).toMatchObject({ ok: false, reason: /nested 5000 levels deep/ });
    expect(parseJsonBody('{"a":"[[[[[[["}').ok).toBe(true); // brackets inside strings do not count
    expect(parseJsonBody('{"a":"\\"[[["}').ok).toBe(true);
    expect(parseJsonBody('{"emoji":"\\ud83d\\ude00"}').ok).toBe(true);
  });
});

describe("path ids and query strings", () => {
  test("decodePathSegment never throws; accepts exactly what decodes to a storable string", () => {
    const segment = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom("%", "0", "a", "E", "D", "F", "8", "%00", "%ZZ", "%ED%A0%80", "x") }),
      fc.string({ unit: "binary" }).map(encodeURIComponent),
    );
    fc.assert(
      fc.property(segment, (raw) => {
        let expected: string | null;
        try {
          expected = decodeURIComponent(raw);
        } catch {
          expected = null;
        }
        const r = decodePathSegment(raw, "path.id");
        if (expected === null)
          expect(r).toEqual({ ok: false, reason: "path.id: invalid %-encoding in the URL path" });
        else if (!storable(expected)) expect(r).toMatchObject({ ok: false, reason: /^path\.id: contains/ });
        else expect(r).toEqual({ ok: true, value: expected });
      }),
    );
  });

  test("findBadQuery flags exactly the query strings that cannot be stored", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nasty, nasty), { maxLength: 5 }), (pairs) => {
        // as a URL carries them: UTF-8 %-encoded (a lone surrogate becomes U+FFFD on the way)
        const search = new URLSearchParams(pairs).toString();
        const params = new URLSearchParams(search);
        const bad = [...params].some(([k, v]) => !storable(k) || !storable(v));
        expect(findBadQuery(search) !== null).toBe(bad);
      }),
    );
  });

  test("findBadQuery never throws on any raw query string; refuses broken %-escapes", () => {
    const raw = fc.string({
      unit: fc.constantFrom("%", "0", "a", "E", "=", "&", "+", "%00", "%ZZ", "%C3", "x"),
    });
    fc.assert(
      fc.property(raw, (q) => {
        const parts = q
          .split("&")
          .filter(Boolean)
          .flatMap((p) => {
            // As URLSearchParams reads it: the name up to the first "=", the value is all the rest.
            const eq = p.indexOf("=");
            return eq < 0 ? [p] : [p.slice(0, eq), p.slice(eq + 1)];
          });
        let broken = false;
        let unstorable = false;
        for (const p of parts) {
          try {
            unstorable ||= !storable(decodeURIComponent(p.replace(/\+/g, " ")));
          } catch {
            broken = true;
          }
        }
        const out = findBadQuery(q);
        if (!broken && !unstorable) expect(out).toBeNull();
        else expect(out).toMatch(/^query/);
      }),
    );
  });

  test("fixed examples from the probe", () => {
    expect(decodePathSegment("%00", "path.id")).toMatchObject({ ok: false, reason: /NUL/ });
    expect(decodePathSegment("abc%E0%A4%A", "path.id")).toMatchObject({
      ok: false,
      reason: /invalid %-encoding/,
    });
    expect(decodePathSegment("%", "path.id").ok).toBe(false);
    expect(decodePathSegment("my%20project", "path.project")).toEqual({ ok: true, value: "my project" });
    expect(findBadQuery("?cursor=%00")).toMatch(/^query\.cursor: contains a NUL/);
    expect(findBadQuery("?snapshotId=a%00b")).toMatch(/^query\.snapshotId/);
    expect(findBadQuery("?cursor=%E0%A4%A")).toBe("query.cursor: invalid %-encoding");
    expect(findBadQuery("?cursor=abc&limit=5&origin=human,ai")).toBeNull();
    expect(badText("fine")).toBeNull();
  });
});

describe("import lines (parseRow)", () => {
  const text = fc.oneof(nasty, fc.string({ minLength: 1 }));
  const message = fc.record({
    role: fc.constantFrom("system", "user", "assistant", "tool", "robot", 7),
    content: fc.oneof(text, fc.integer()),
  });
  const row = fc.oneof(
    jsonWithNasty,
    fc.record({ prompt: fc.oneof(text, fc.array(message)) }, { requiredKeys: [] }),
    fc.record(
      {
        prompt: text,
        chosen: text,
        rejected: text,
        chosen_model: fc.oneof(
          text,
          fc.string({ minLength: 199, maxLength: 199 }).map((s) => s + "😀"),
        ),
        rejected_model: text,
        project: text,
        margin: fc.oneof(fc.double(), fc.string()),
        metadata: jsonWithNasty,
      },
      { requiredKeys: ["prompt", "chosen", "rejected"] },
    ),
    fc.record({
      prompt: text,
      completions: fc.array(fc.oneof(text, fc.record({ text, model: text })), { maxLength: 18 }),
      ranking: fc.array(fc.oneof(fc.integer({ min: -1, max: 5 }), fc.array(fc.integer({ min: 0, max: 5 })))),
    }),
    fc.record({ messages: fc.array(message, { maxLength: 4 }), model: text }),
    fc.record({ chosen: text.map((s) => `\n\nHuman: q\n\nAssistant: ${s}`), rejected: text }),
  );

  test("every row either parses into storable text or is refused with a RowError", () => {
    fc.assert(
      fc.property(row, (value) => {
        let out;
        try {
          out = parseRow(value, { maxTextChars: 200_000 });
        } catch (e) {
          expect(e).toBeInstanceOf(RowError);
          expect((e as Error).message.length).toBeGreaterThan(0);
          return;
        }
        // metadata is checked by the importer (as jsonb); everything else must be storable here.
        const { metadata: _m, ...rest } = out;
        expect(allStorable(rest)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test("fixed examples", () => {
    expect(() => parseRow({ prompt: "a\u0000b" }, { maxTextChars: 100 })).toThrow(/NUL/);
    expect(() => parseRow({ prompt: "x", chosen: "\ud800", rejected: "b" }, { maxTextChars: 100 })).toThrow(
      /surrogate/,
    );
    expect(() =>
      parseRow({ prompt: "x", chosen: "a", rejected: "b", chosen_model: "m\u0000" }, { maxTextChars: 100 }),
    ).toThrow(/NUL/);
    // a model name cut at 200 characters never splits a surrogate pair
    const r = parseRow(
      { prompt: "x", chosen: "a", rejected: "b", chosen_model: "m".repeat(199) + "😀" },
      { maxTextChars: 100 },
    );
    expect(r.kind === "comparison" && storable(r.completions[0]!.model!)).toBe(true);
  });
});

describe("rubric templates and label schemas", () => {
  test("validateRubric and renderTemplate refuse bad templates with a DomainError, never anything else", () => {
    const piece = fc.constantFrom(
      "{question}",
      "{answer_a}",
      "{answer_b}",
      "{reference}",
      "{answer_A}",
      "{",
      "}",
      "[[A]]",
      "[[B]]",
      "[[C]]",
      " text ",
      "\u0000",
      "{nope}",
    );
    const template = fc.array(piece, { maxLength: 12 }).map((a) => a.join(""));
    fc.assert(
      fc.property(
        template,
        template,
        fc.dictionary(fc.constantFrom("question", "answer_a", "answer_b"), fc.string()),
        (system, tpl, values) => {
          try {
            validateRubric({ system, template: tpl });
          } catch (e) {
            expect(isDomainError(e) && e.code === "bad_request").toBe(true);
          }
          try {
            const out = renderTemplate(tpl, values);
            // one pass: a value that itself holds a placeholder is not expanded again
            for (const v of Object.values(values)) if (tpl.includes("{answer_a}")) void v;
            expect(typeof out).toBe("string");
          } catch (e) {
            expect(isDomainError(e) && e.code === "bad_request").toBe(true);
          }
        },
      ),
    );
  });

  test("label schemas and project settings: safeParse never throws on any JSON", () => {
    const schemaLike = fc.oneof(
      jsonWithNasty,
      fc.record(
        {
          kind: fc.constantFrom("pairwise", "ranking", "other", 3),
          strength: fc.oneof(fc.boolean(), fc.string()),
          axes: fc.array(
            fc.record({
              key: nasty,
              label: nasty,
              min: fc.oneof(fc.integer(), fc.double()),
              max: fc.integer(),
            }),
          ),
          rationale: fc.constantFrom("off", "optional", "required", "maybe"),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(schemaLike, (v) => {
        const r = LabelSchema.safeParse(v);
        if (r.success) expect(["pairwise", "ranking"]).toContain(r.data.kind);
        else expect(r.error.issues.length).toBeGreaterThan(0);
        expect(() => ProjectSettings.safeParse(v)).not.toThrow();
      }),
    );
  });
});
