// The security headers, in one place: next.config.ts sends the static ones on every Next.js
// response, proxy.ts adds the page CSP with a fresh nonce per request, and the web process's fast
// lane (server/processes/fast-lane.ts) sends the same set on the annotator's REST loop.
// No "server-only" import: next.config.ts and the fast lane load it outside Next's bundles.

/** On every response. */
export const BASE_SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
  // Nothing in Pairwise uses these browser features; no embedded page may either.
  "Permissions-Policy":
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), interest-cohort=(), browsing-topics=()",
};

/** JSON and streamed API responses: nothing in them may run or be framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/** Two years, the preload list's minimum; sent only when the request came over https. */
export const HSTS = "max-age=63072000; includeSubDomains";

/**
 * The pages' CSP. Scripts: only those carrying this request's nonce (Next.js puts it on its own
 * scripts when it finds it in the request's CSP header), and what they load ('strict-dynamic').
 * Styles keep 'unsafe-inline': React `style` attributes and KaTeX's inline styles cannot carry a
 * nonce, and a style cannot run code.
 */
export function pageCsp(nonce: string, opts: { dev?: boolean } = {}): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${opts.dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Whether the request reached us over https (directly or through a proxy that says so). */
export function overHttps(get: (name: string) => string | null | undefined, publicUrl?: string): boolean {
  const proto = get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  if (proto === "https") return true;
  return !!publicUrl && /^https:\/\//i.test(publicUrl) && proto !== "http";
}
