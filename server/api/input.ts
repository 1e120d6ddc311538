// Input that PostgreSQL cannot store, or that would blow a parser's stack, refused at the edge
// (REST, the fast lane, tRPC) with a 400 and a reason, before any handler runs, so nothing is
// half-written:
//  - a NUL character (U+0000): PostgreSQL text and jsonb cannot hold it;
//  - an unpaired UTF-16 surrogate ("\uD800" alone): jsonb refuses it, text would silently store
//    U+FFFD in its place;
//  - invalid %-encoding in a path segment (decodeURIComponent throws);
//  - JSON nested deeper than MAX_JSON_DEPTH: measured on the text before parsing, so neither
//    JSON.parse nor the recursive code after it (zod, superjson, Prisma) ever sees it.
// No "server-only" import: the fast lane runs in plain Node.

/** Deepest JSON nesting accepted in a request body (objects and arrays). */
export const MAX_JSON_DEPTH = 64;

type StringWithWellFormed = string & { isWellFormed(): boolean };

/** Why this string cannot be stored, or null when it can. */
export function badText(s: string): string | null {
  if (s.includes("\u0000")) return "contains a NUL character (U+0000), which cannot be stored";
  if (!(s as StringWithWellFormed).isWellFormed())
    return "contains an unpaired UTF-16 surrogate (half of a \\uD800-\\uDFFF pair), which cannot be stored";
  return null;
}

/** The deepest nesting of objects and arrays in JSON text (strings skipped); no parsing, no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/**
 * The first string (or object key) in a parsed JSON value that cannot be stored, as
 * "where.path: reason"; null when all can. Iterative, so any depth is safe.
 */
export function findBadText(value: unknown, where: string): string | null {
  const stack: Array<[unknown, string]> = [[value, where]];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === "string") {
      const why = badText(v);
      if (why) return `${at}: ${why}`;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}.${i}`]);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const why = badText(k);
        if (why) return `${at}: a key ${why}`;
        stack.push([x, `${at}.${k}`]);
      }
    }
  }
  return null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parse a JSON request body, refusing what the rest of the server cannot take. */
export function parseJsonBody(text: string, where = "body"): Parsed<unknown> {
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH)
    return {
      ok: false,
      reason: `${where}: JSON nested ${depth} levels deep, over the limit of ${MAX_JSON_DEPTH}`,
    };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      reason: `${where}: not valid JSON; send Content-Type: application/json with a JSON object`,
    };
  }
  const bad = findBadText(value, where);
  return bad ? { ok: false, reason: bad } : { ok: true, value };
}

/** decodeURIComponent that answers a reason instead of throwing, and refuses what cannot be stored. */
export function decodePathSegment(raw: string, where: string): Parsed<string> {
  let s: string;
  try {
    s = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: `${where}: invalid %-encoding in the URL path` };
  }
  const why = badText(s);
  return why ? { ok: false, reason: `${where}: ${why}` } : { ok: true, value: s };
}

/**
 * The first query parameter that is invalid %-encoding or decodes to something that cannot be
 * stored, as "query.name: reason"; null when all are fine. Takes the raw query ("?a=1&b=2"):
 * URLSearchParams would quietly turn broken %-escapes into U+FFFD.
 */
export function findBadQuery(search: string): string | null {
  const raw = search.startsWith("?") ? search.slice(1) : search;
  if (!raw) return null;
  for (const part of raw.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const [k, v] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(k.replace(/\+/g, " "));
    } catch {
      return `query: a parameter name has invalid %-encoding`;
    }
    const name = `query.${key.replace(/\0/g, "\\0")}`;
    try {
      value = decodeURIComponent(v.replace(/\+/g, " "));
    } catch {
      return `${name}: invalid %-encoding`;
    }
    const why = badText(key) ?? badText(value);
    if (why) return `${name}: ${why}`;
  }
  return null;
}
