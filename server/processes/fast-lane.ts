// The web process's fast lane: the annotator's REST loop (server/api/annotation.ts) answered
// before Next.js sees the request. The handlers are the very ones app/api/v1/** exports; this only
// skips Next's routing and its per-request work, which cost several times the handler itself on
// these endpoints (measured with `npm run bench -- annotation`).
import type http from "node:http";
import { annotationFastLane } from "../api/annotation";
import { isUnknownApiPath, unknownApiResponse } from "../api/unknown";
import { env } from "../env";
import { API_CSP, BASE_SECURITY_HEADERS, HSTS, overHttps } from "../security-headers";

const MAX_BODY = 1 << 20;
/** Past this much, an over-limit body is no longer drained: the 413 goes out and the socket closes. */
const MAX_DRAIN = 16 * MAX_BODY;

/** The body, or "too_large" once it passes MAX_BODY (the rest is read and dropped, up to MAX_DRAIN). */
function readBody(req: http.IncomingMessage): Promise<Buffer | "too_large"> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "");
    if (Number.isFinite(declared) && declared > MAX_DRAIN) return resolve("too_large");
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        chunks.length = 0; // keep reading (and dropping) so the client gets the 413, not a reset
        if (size > MAX_DRAIN) resolve("too_large");
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(size > MAX_BODY ? "too_large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The headers every fast-lane response carries (the same as Next.js sends on /api/*). */
function securityHeaders(req: http.IncomingMessage): Record<string, string> {
  const h: Record<string, string> = { ...BASE_SECURITY_HEADERS, "Content-Security-Policy": API_CSP };
  if (overHttps((n) => headerValue(req, n), publicUrl())) h["Strict-Transport-Security"] = HSTS;
  return h;
}

let cachedPublicUrl: string | undefined | null = null;
function publicUrl(): string | undefined {
  if (cachedPublicUrl === null) {
    try {
      cachedPublicUrl = env().NEXTAUTH_URL;
    } catch {
      cachedPublicUrl = undefined;
    }
  }
  return cachedPublicUrl;
}

function headerValue(req: http.IncomingMessage, name: string): string | null {
  const v = req.headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

/** Answers the request if it is one of the fast lane's routes; false to let Next.js have it. */
export function fastLane(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const method = req.method ?? "GET";
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const pathname = q >= 0 ? url.slice(0, q) : url;
  const route = annotationFastLane.find((r) => r.method === method && r.pattern.test(pathname));
  if (!route) {
    if (!isUnknownApiPath(pathname)) return false;
    // An /api/v1 path no route matches: the JSON 404 here, without a trip through Next.
    const response = unknownApiResponse(method, pathname);
    void response.text().then((body) =>
      res
        .writeHead(response.status, {
          ...securityHeaders(req),
          "content-type": "application/json",
          "cache-control": "no-store",
          "x-pairwise-lane": "fast",
          ...(response.headers.get("allow") ? { allow: response.headers.get("allow")! } : {}),
        })
        .end(body),
    );
    req.resume();
    return true;
  }
  void (async () => {
    try {
      const body = await readBody(req);
      if (body === "too_large") {
        const out = JSON.stringify({
          error: { code: "bad_request", message: "The request body is over 1 MB; send less." },
        });
        res
          .writeHead(413, {
            ...securityHeaders(req),
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(out)),
            "cache-control": "no-store",
            connection: "close",
          })
          .end(out, () => req.destroy());
        return;
      }
      // The handlers read only the URL, headers.get and json() of a Request: a light stand-in
      // saves building a full web Request (and its AbortSignal) per call.
      const text = body.toString("utf8");
      const request = {
        method,
        url: `http://${req.headers.host ?? "localhost"}${url}`,
        headers: { get: (name: string) => headerValue(req, name) },
        json: async () => JSON.parse(text) as unknown,
        text: async () => text,
      } as unknown as Request;
      const response = await route.handle(request);
      const out = Buffer.from(await response.arrayBuffer());
      const h: Record<string, string> = {
        ...securityHeaders(req),
        "content-length": String(out.length),
        "x-pairwise-lane": "fast",
      };
      response.headers.forEach((v, k) => (h[k] = v));
      res.writeHead(response.status, h).end(out);
    } catch (e) {
      console.error("[web] fast lane:", e);
      if (!res.headersSent)
        res.writeHead(500, {
          ...securityHeaders(req),
          "content-type": "application/json",
          "cache-control": "no-store",
        });
      res.end(
        JSON.stringify({
          error: {
            code: "internal",
            message: "Something went wrong on the server; it has been logged. Try again.",
          },
        }),
      );
    }
  })();
  return true;
}
