// The web process: the built Next.js app (UI, tRPC, REST API, next-auth) on PORT.
import http from "node:http";
import path from "node:path";
import next from "next";
import { env } from "../env";
import { closeAppSql } from "../db/client";
import { fastLane } from "./fast-lane";
import { CLIENT_IP_HEADER, requestAddress } from "../auth/rate-limit";
import { decodePathSegment } from "../api/input";
import { API_CSP, BASE_SECURITY_HEADERS } from "../security-headers";

/** Why a request path cannot be decoded or stored (per segment), or null. */
function badRequestPath(url: string): string | null {
  const q = url.indexOf("?");
  const pathname = q >= 0 ? url.slice(0, q) : url;
  if (!pathname.includes("%")) return null;
  for (const seg of pathname.split("/")) {
    const d = decodePathSegment(seg, "path");
    if (!d.ok) return d.reason;
  }
  return null;
}
import { startCpuProfile } from "./profile";
import { startHeartbeat } from "./heartbeat";
import { runProcess } from "./run";

runProcess("web", async () => {
  const e = env();
  const stopProfile = startCpuProfile("web");
  const root = path.resolve(import.meta.dirname, "../..");
  const app = next({ dev: false, dir: root, hostname: e.PAIRWISE_HOST, port: e.PORT });
  await app.prepare();
  const handle = app.getRequestHandler();
  // The annotator's REST loop first (fast lane), everything else through Next.js.
  const server = http.createServer((req, res) => {
    // The client's address for the abuse limits, set here only (a client's own copy is replaced).
    req.headers[CLIENT_IP_HEADER] = requestAddress(
      req.socket.remoteAddress,
      [req.headers["x-forwarded-for"] ?? []].flat().join(","),
    );
    // A path Next.js cannot decode (broken %-escapes) would be its own 500: a 400 with the reason.
    const bad = badRequestPath(req.url ?? "/");
    if (bad) {
      const body = JSON.stringify({ error: { code: "bad_request", message: bad } });
      res
        .writeHead(400, {
          ...BASE_SECURITY_HEADERS,
          "content-security-policy": API_CSP,
          "content-type": "application/json",
          "cache-control": "no-store",
          "content-length": String(Buffer.byteLength(body)),
        })
        .end(body);
      return;
    }
    if (!fastLane(req, res)) void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(e.PORT, e.PAIRWISE_HOST, () => resolve());
  });
  const stopBeat = startHeartbeat("web", () => ({ port: e.PORT }));
  console.log(`[web] listening on http://${e.PAIRWISE_HOST}:${e.PORT}`);
  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5_000).unref();
    });
    await stopBeat();
    await closeAppSql();
    await stopProfile();
  };
});
