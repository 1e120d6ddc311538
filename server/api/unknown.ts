// Requests under /api/v1 that match no route: the JSON error envelope the API promises, never
// Next's HTML 404 page. Used by the catch-all app/api/v1/[...path]/route.ts and by the web
// process's fast lane (server/processes/fast-lane.ts), which answers them before Next does.
import { API_PREFIX, errorResponse, pathPattern, type RouteDef } from "./http";
import { allRoutes } from "./registry";

const patterns = (Object.values(allRoutes) as RouteDef[]).map((r) => ({
  method: r.method as string,
  pattern: pathPattern(r.path),
}));

/** Is `pathname` under /api/v1 and matched by no route (whatever the method)? */
export function isUnknownApiPath(pathname: string): boolean {
  if (pathname !== API_PREFIX && !pathname.startsWith(`${API_PREFIX}/`)) return false;
  return !patterns.some((r) => r.pattern.test(pathname));
}

/** Methods a known /api/v1 path answers (empty: the path is unknown). */
export function allowedMethods(pathname: string): string[] {
  return patterns.filter((r) => r.pattern.test(pathname)).map((r) => r.method);
}

/** 404 for an unknown path; 405 (with Allow) for a known path asked with another method. */
export function unknownApiResponse(method: string, pathname: string): Response {
  const allowed = allowedMethods(pathname);
  if (allowed.length) {
    const res = errorResponse(
      "bad_request",
      `${method} is not allowed on ${pathname}; use ${allowed.join(" or ")}.`,
    );
    return new Response(res.body, {
      status: 405,
      headers: { "content-type": "application/json", allow: allowed.join(", ") },
    });
  }
  return errorResponse(
    "not_found",
    `No API route ${method} ${pathname}. The routes are listed in ${API_PREFIX}/openapi.json.`,
  );
}
