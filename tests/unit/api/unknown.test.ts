// Unknown /api/v1 paths answer the API's JSON error, over real HTTP through the web process's fast
// lane, and from the Next catch-all route (app/api/v1/[...path]/route.ts) for what reaches Next.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fastLane } from "@/server/processes/fast-lane";
import { isUnknownApiPath } from "@/server/api/unknown";
import * as catchAll from "@/app/api/v1/[...path]/route";

let server: http.Server;
let base: string;
beforeAll(async () => {
  // Next's place is taken by a stub that says it was reached.
  server = http.createServer((req, res) => {
    if (!fastLane(req, res)) res.writeHead(299, { "content-type": "text/plain" }).end("next");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("unknown /api/v1 paths", () => {
  test("the fast lane answers a JSON 404 (any method), and leaves known paths and pages to Next", async () => {
    for (const [method, p] of [
      ["GET", "/api/v1/nope"],
      ["POST", "/api/v1/projects/demo/nothing-here"],
      ["DELETE", "/api/v1/comparisons/x/judgments/y"],
      ["GET", "/api/v1"],
    ] as const) {
      const res = await fetch(`${base}${p}?q=1`, { method, body: method === "POST" ? "{}" : undefined });
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(await res.json()).toEqual({
        error: { code: "not_found", message: expect.stringContaining(`${method} ${p}`) },
      });
    }
    for (const p of [
      "/api/v1/projects",
      "/api/v1/projects/demo/export",
      "/api/v1/openapi.json",
      "/admin",
      "/api/trpc/x",
    ]) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(299);
    }
  });

  test("Next's catch-all route answers the same JSON 404", async () => {
    const res = await catchAll.GET(new Request("http://pairwise.test/api/v1/projects/demo/nothing-here"));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    const post = await catchAll.POST(new Request("http://pairwise.test/api/v1/x", { method: "POST" }));
    expect(post.status).toBe(404);
  });

  test("every route file under app/api/v1 is a route of the table (so none is taken for unknown)", () => {
    const root = path.resolve(import.meta.dirname, "../../../app/api/v1");
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name === "route.ts") files.push(path.relative(root, d));
      }
    };
    walk(root);
    const concrete = files
      .filter((f) => !f.includes("[..."))
      .map((f) =>
        `/api/v1/${f
          .split(path.sep)
          .map((s) => (s.startsWith("[") ? "some-id" : s))
          .join("/")}`.replace(/\/$/, ""),
      );
    expect(concrete.length).toBeGreaterThan(15);
    for (const p of concrete) expect(isUnknownApiPath(p), p).toBe(false);
  });
});
