// Next.js proxy (the Next 16 name for middleware): a fresh CSP nonce for every page request.
// Next.js finds the nonce in the request's Content-Security-Policy header and puts it on its own
// scripts (the pages are rendered per request: app/layout.tsx is force-dynamic), so no inline
// script runs without it. The static headers come from next.config.ts; the fast lane sends its
// own (server/processes/fast-lane.ts); all from server/security-headers.ts.
import { NextResponse, type NextRequest } from "next/server";
import { HSTS, overHttps, pageCsp } from "@/server/security-headers";
import { env } from "@/server/env";

/** NEXTAUTH_URL, the app's public URL (https there means HSTS); none if the config is unreadable. */
function publicUrl(): string | undefined {
  try {
    return env().NEXTAUTH_URL;
  } catch {
    return undefined;
  }
}

export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  // eslint-disable-next-line no-restricted-properties -- Next.js sets NODE_ENV itself; the proxy reads nothing else
  const csp = pageCsp(nonce, { dev: process.env.NODE_ENV === "development" });
  const headers = new Headers(request.headers);
  headers.set("x-nonce", nonce);
  headers.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", csp);
  if (overHttps((n) => request.headers.get(n), publicUrl()))
    response.headers.set("strict-transport-security", HSTS);
  return response;
}

export const config = {
  matcher: [
    // Pages only: not the APIs (their CSP is static, next.config.ts), not static files, not
    // router prefetches (they carry no HTML).
    {
      source: "/((?!api/|_next/static|_next/image|favicon.ico).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
