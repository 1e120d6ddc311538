// The REST edge: one route definition (method, path, scope, zod schemas) drives both request
// handling and the OpenAPI document. Handlers are plain `(req: Request) => Promise<Response>`
// functions, testable without Next; app/api/v1/**/route.ts only re-exports them.
import { z, ZodError } from "zod";
import { DomainError, httpStatus, isDomainError } from "@/server/errors";
import { authenticateBearer, hasScope, type BearerAuth, type Scope } from "@/server/auth/tokens";
import { hasRole, type Role } from "@/server/auth/roles";
import { projectIdOf, requireProjectRole, type ProjectSource } from "@/server/auth/access";
import { decodePathSegment, findBadQuery, parseJsonBody } from "./input";
import { isConnectionError } from "@/server/db/sql";

export const API_PREFIX = "/api/v1";

export interface RouteDef {
  operationId: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** OpenAPI-style path under /api/v1, e.g. "/projects/{project}". */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Token scope needed (admin implies write implies read); null: public. */
  scope: Scope | null;
  /** The token's user must also have this role (in the route's project, when it has one). */
  role?: Role;
  /**
   * Where the route's project comes from: the {project} path parameter, or the {id} of a
   * comparison, import, snapshot or round. The caller must then be a member of that project with
   * `role` (default annotator) there (server/auth/access.ts).
   */
  projectFrom?: ProjectSource;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** A JSON body, or a streamed body in one of these content types. */
  body?: z.ZodType | { stream: string[]; description: string };
  /** A JSON response, or a streamed one. */
  response: z.ZodType | { stream: string; description: string };
  status?: number;
}

export interface Ctx<R extends RouteDef> {
  req: Request;
  auth: BearerAuth | null;
  /** For routes with projectFrom: the project (null if the reference matched nothing) and the caller's role there. */
  access: { projectId: string | null; role: Role | null };
  params: R["params"] extends z.ZodObject ? z.output<R["params"]> : Record<string, never>;
  query: R["query"] extends z.ZodObject ? z.output<R["query"]> : Record<string, never>;
  body: R["body"] extends z.ZodType ? z.output<R["body"]> : undefined;
}

/** JSON API responses are never cached (they carry per-user data). */
const NO_STORE = { "cache-control": "no-store" };

export function errorResponse(
  code: DomainError["code"],
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    { error: { code, message, ...extra } },
    { status: httpStatus[code], headers: { ...NO_STORE, ...headers } },
  );
}

/** A DomainError as a response; a rate limit's wait goes in Retry-After. */
export function domainErrorResponse(e: DomainError): Response {
  const retryAfter = (e.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  return errorResponse(
    e.code,
    e.message,
    retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {},
    retryAfter !== undefined ? { "retry-after": String(retryAfter) } : {},
  );
}

/**
 * A database connection lost past the executors' own retries, or during a COMMIT (whose outcome
 * is unknown): 503 with Retry-After. Sending the same request again is safe: a submit or a
 * judgment carries its idempotencyKey, and is stored once.
 */
export function connectionLostResponse(): Response {
  return errorResponse(
    "unavailable",
    "The database connection was lost; send the same request again (a submit with the same idempotencyKey is stored once).",
    { retryAfterSeconds: 1 },
    { "retry-after": "1" },
  );
}

/** The regular expression matching a route's path (with its {params} as named groups) under /api/v1. */
export function pathPattern(path: string): RegExp {
  return new RegExp(`^${API_PREFIX}${path.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}/?$`);
}

function issues(e: ZodError, where: string): string {
  return e.issues
    .map((i) => `${where}${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`)
    .join("; ");
}

/** Keys of a query schema that take a list (given as repeated keys or a comma list). */
function arrayKeys(schema?: z.ZodObject): Set<string> {
  const keys = new Set<string>();
  for (const [key, def] of Object.entries((schema?.shape ?? {}) as Record<string, z.ZodType>)) {
    if (
      JSON.stringify(z.toJSONSchema(def, { io: "input", unrepresentable: "any" })).includes('"type":"array"')
    )
      keys.add(key);
  }
  return keys;
}

function queryObject(url: URL, lists: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    out[key] = lists.has(key) ? all.flatMap((v) => v.split(",")).filter(Boolean) : all[all.length - 1];
  }
  return out;
}

export function handler<R extends RouteDef>(
  route: R,
  fn: (ctx: Ctx<R>) => Promise<Response | unknown>,
): (req: Request) => Promise<Response> {
  const pattern = pathPattern(route.path);
  const lists = arrayKeys(route.query);
  return async (req: Request) => {
    try {
      let auth: BearerAuth | null = null;
      if (route.scope) {
        auth = await authenticateBearer(req);
        if (!auth) {
          return errorResponse(
            "unauthorized",
            "Send an API token: `Authorization: Bearer pw_...` (create one with `pairwise tokens create` or on your account page).",
          );
        }
        if (!hasScope(auth, route.scope))
          return errorResponse(
            "forbidden",
            `This token lacks the "${route.scope}" scope; create a token with it.`,
          );
        if (route.role && !hasRole(auth.user, route.role))
          return errorResponse("forbidden", `This needs the ${route.role} role; ask an admin for access.`);
      }
      const url = new URL(req.url);
      const m = pattern.exec(url.pathname);
      const rawParams: Record<string, string> = {};
      for (const [k, v] of Object.entries(m?.groups ?? {})) {
        const d = decodePathSegment(v, `path.${k}`);
        if (!d.ok) return errorResponse("bad_request", d.reason);
        rawParams[k] = d.value;
      }
      let params: unknown = rawParams;
      if (route.params) {
        const r = route.params.safeParse(rawParams);
        if (!r.success) return errorResponse("bad_request", issues(r.error, "path"));
        params = r.data;
      }
      const access: Ctx<R>["access"] = { projectId: null, role: null };
      if (route.projectFrom && auth) {
        const p = params as Record<string, string>;
        const ref = route.projectFrom === "project" ? p.project : p.id;
        access.projectId = ref ? await projectIdOf(route.projectFrom, ref) : null;
        // A reference that matches nothing falls through to the handler's own 404.
        if (access.projectId)
          access.role = await requireProjectRole(auth.user, access.projectId, route.role ?? "annotator");
      }
      let query: unknown = {};
      const badQuery = findBadQuery(url.search);
      if (badQuery) return errorResponse("bad_request", badQuery);
      if (route.query) {
        const r = route.query.safeParse(queryObject(url, lists));
        if (!r.success) return errorResponse("bad_request", issues(r.error, "query"));
        query = r.data;
      }
      let body: unknown;
      if (route.body && route.body instanceof z.ZodType) {
        const parsed = parseJsonBody(await req.text());
        if (!parsed.ok) return errorResponse("bad_request", parsed.reason);
        const r = route.body.safeParse(parsed.value);
        if (!r.success) return errorResponse("bad_request", issues(r.error, "body"));
        body = r.data;
      }
      const out = await fn({ req, auth, access, params, query, body } as Ctx<R>);
      if (out instanceof Response) {
        if (!out.headers.has("cache-control")) out.headers.set("cache-control", "no-store");
        return out;
      }
      return Response.json(out, { status: route.status ?? 200, headers: NO_STORE });
    } catch (e) {
      if (isDomainError(e)) return domainErrorResponse(e);
      if (e instanceof ZodError) return errorResponse("bad_request", issues(e, "input"));
      if (isConnectionError(e)) return connectionLostResponse();
      console.error(`[api] ${route.method} ${route.path}:`, e);
      return errorResponse("internal", "Something went wrong on the server; it has been logged. Try again.");
    }
  };
}
