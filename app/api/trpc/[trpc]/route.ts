// GET/POST /api/trpc/* - the UI's API (session cookie or API token)
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/trpc/root";
import { createContext } from "@/server/trpc/init";
import { getSessionUser } from "@/server/auth/session";
import { findBadQuery, parseJsonBody } from "@/server/api/input";

/** A tRPC-shaped 400 (one per call of a batch), for input refused before tRPC parses it. */
function refuse(req: Request, reason: string): Response {
  const error = {
    error: {
      json: {
        message: reason,
        code: -32600,
        data: { code: "BAD_REQUEST", httpStatus: 400, domainCode: "bad_request", zodError: null },
      },
    },
  };
  const url = new URL(req.url);
  const calls = url.pathname.split("/").pop()?.split(",").length ?? 1;
  const body = url.searchParams.get("batch") ? Array.from({ length: calls }, () => error) : error;
  return Response.json(body, { status: 400, headers: { "cache-control": "no-store" } });
}

const handler = async (req: Request) => {
  // NUL characters, lone surrogates and deep nesting never reach superjson, zod or the database.
  const url = new URL(req.url);
  const badQuery = findBadQuery(url.search);
  if (badQuery) return refuse(req, badQuery);
  const input = url.searchParams.get("input");
  if (input !== null) {
    const r = parseJsonBody(input, "input");
    if (!r.ok) return refuse(req, r.reason);
  }
  let request = req;
  if (req.method === "POST") {
    const text = await req.text();
    if (text) {
      const r = parseJsonBody(text, "input");
      if (!r.ok) return refuse(req, r.reason);
    }
    request = new Request(req.url, { method: "POST", headers: req.headers, body: text });
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createContext({ req: request, getSession: getSessionUser }),
    // A rate limit's wait (server/auth/rate-limit.ts) goes in Retry-After.
    responseMeta({ errors }) {
      const waits = errors
        .map((e) => (e.cause as { details?: { retryAfterSeconds?: number } } | undefined)?.details)
        .map((d) => d?.retryAfterSeconds)
        .filter((n): n is number => typeof n === "number");
      const headers = new Headers({ "cache-control": "no-store" });
      if (waits.length) headers.set("retry-after", String(Math.max(...waits)));
      return { headers };
    },
  });
};
export { handler as GET, handler as POST };
