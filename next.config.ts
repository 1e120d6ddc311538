import type { NextConfig } from "next";
import { API_CSP, BASE_SECURITY_HEADERS, HSTS } from "./server/security-headers";

const config: NextConfig = {
  // Node-only packages (native bindings, WASM, worker threads) stay outside the server bundle.
  serverExternalPackages: [
    "@prisma/client",
    "@prisma/adapter-pg",
    "pg",
    "pg-boss",
    "pg-copy-streams",
    "@electric-sql/pglite",
    "bcryptjs",
    "@tensorflow/tfjs",
    "@tensorflow/tfjs-core",
    "@tensorflow/tfjs-backend-wasm",
    "@tensorflow/tfjs-backend-webgpu",
    "@tensorflow/tfjs-node",
    "@tensorflow/tfjs-node-gpu",
    "webgpu",
    "quickjs-emscripten",
  ],
  poweredByHeader: false,
  async headers() {
    const base = Object.entries(BASE_SECURITY_HEADERS).map(([key, value]) => ({ key, value }));
    return [
      { source: "/:path*", headers: base },
      // HSTS only over https (a TLS-terminating proxy says so in X-Forwarded-Proto); pages also
      // get it from proxy.ts when NEXTAUTH_URL is https.
      {
        source: "/:path*",
        has: [{ type: "header", key: "x-forwarded-proto", value: "https" }],
        headers: [{ key: "Strict-Transport-Security", value: HSTS }],
      },
      // The APIs answer JSON (or streams): nothing in them may run, be framed or be cached.
      {
        source: "/api/:path*",
        headers: [
          { key: "Content-Security-Policy", value: API_CSP },
          { key: "Cache-Control", value: "no-store" },
        ],
      },
    ];
  },
};

export default config;
