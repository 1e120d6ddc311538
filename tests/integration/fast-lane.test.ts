// The web process's fast lane over real HTTP: a body over 1 MB answers 413 (not a reset
// connection), and its responses carry the same security headers as Next.js's API responses.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { makeProject, makeUser } from "./annotation/fixtures";
import { createApiToken } from "@/server/auth/tokens";
import { fastLane } from "@/server/processes/fast-lane";
import { API_CSP } from "@/server/security-headers";

let t: TestDatabase;
let server: http.Server;
let base: string;
let token: string;
let slug: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const u = await makeUser(t.prisma, "Ann");
  token = (await createApiToken({ userId: u.id, name: "t", scopes: ["write"] })).token;
  const fx = await makeProject(t.prisma, { comparisons: 2 });
  slug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
  server = http.createServer((req, res) => {
    if (!fastLane(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.close();
});

/** A raw request, optionally chunked (no Content-Length), so the body size is not known up front. */
function send(
  path: string,
  body: Buffer,
  opts: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(opts.chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(body.length) }),
        ...opts.headers,
      },
    });
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }),
      );
    });
    req.on("error", reject);
    if (opts.chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

const big = (bytes: number) => Buffer.from(JSON.stringify({ assignmentId: "x", pad: "a".repeat(bytes) }));

describe("fast lane", () => {
  test("a body over 1 MB answers 413 with a reason, with or without Content-Length", async () => {
    for (const chunked of [false, true]) {
      const r = await send("/api/v1/annotation/heartbeat", big(2 * 1024 * 1024), { chunked });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual({
        error: { code: "bad_request", message: expect.stringMatching(/over 1 MB/) },
      });
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
    }
    // fetch (undici) as well: it must see the answer, not a reset
    const res = await fetch(`${base}/api/v1/annotation/skip`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: big(3 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    // a body just under the limit is read and answered as usual
    const ok = await send("/api/v1/annotation/heartbeat", big(1000 * 1000));
    expect(ok.status).toBe(404); // no such assignment: the handler ran
  });

  test("responses carry the security headers and no-store; HSTS only over https", async () => {
    const r = await send(`/api/v1/projects/${slug}/annotation/next`, Buffer.from("{}"));
    expect(r.status).toBe(200);
    expect(r.headers["x-pairwise-lane"]).toBe("fast");
    expect(r.headers).toMatchObject({
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "same-origin",
      "content-security-policy": API_CSP,
      "cache-control": "no-store",
    });
    expect(r.headers["permissions-policy"]).toMatch(/camera=\(\)/);
    expect(r.headers["strict-transport-security"]).toBeUndefined();
    const https = await send("/api/v1/annotation/heartbeat", Buffer.from('{"assignmentId":"nope"}'), {
      headers: { "x-forwarded-proto": "https" },
    });
    expect(https.status).toBe(404);
    expect(https.headers["strict-transport-security"]).toMatch(/^max-age=\d{8}/);
    expect(https.headers["cache-control"]).toBe("no-store");
    const anon = await fetch(`${base}/api/v1/annotation/submit`, { method: "POST", body: "{}" });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("content-security-policy")).toBe(API_CSP);
    expect(anon.headers.get("cache-control")).toBe("no-store");
  });
});
