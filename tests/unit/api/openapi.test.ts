// The OpenAPI document as a client generator sees it: valid OpenAPI 3.1 (by an independent
// validator), a response with a schema on every operation, and TypeScript types generated from it
// (openapi-typescript, the generator openapi-fetch uses) that give each response a real type.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import openapiTS, { astToString } from "openapi-typescript";
import { openApiDocument } from "@/server/api/openapi";

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Json }> }>;
}

const doc = openApiDocument("http://pairwise.test") as {
  paths: Record<string, Record<string, Operation>>;
};
const operations = Object.entries(doc.paths).flatMap(([p, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ path: p, method, op })),
);

describe("the OpenAPI document", () => {
  test("is valid OpenAPI 3.1 by an independent validator", async () => {
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc) as never);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  test("every operation has a success response with a schema, and documented errors", () => {
    expect(operations.length).toBeGreaterThan(20);
    for (const { path, method, op } of operations) {
      const responses = op.responses ?? {};
      const ok = Object.keys(responses).filter((c) => /^2\d\d$/.test(c));
      expect(ok.length, `${method} ${path} has a 2xx response`).toBeGreaterThan(0);
      for (const code of ok) {
        const content = Object.values(responses[code]!.content ?? {});
        expect(content.length, `${method} ${path} ${code} has content`).toBeGreaterThan(0);
        for (const c of content) expect(c.schema, `${method} ${path} ${code} has a schema`).toBeTruthy();
      }
      expect(responses["400"]?.content?.["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/Error",
      });
      expect(responses["default"]?.content?.["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/Error",
      });
    }
    // the routes that answer more than one success status say so
    const start = doc.paths["/api/v1/projects/{project}/rounds"]!.post!;
    expect(Object.keys(start.responses!)).toEqual(expect.arrayContaining(["200", "201"]));
    expect(Object.keys(doc.paths["/api/v1/annotation/submit"]!.post!.responses!)).toContain("410");
  });

  test("a generated client gets typed responses", async () => {
    const generated = astToString(await openapiTS(structuredClone(doc) as never));
    const ops = generated.split("export interface operations")[1] ?? "";
    expect(ops).toMatch(/responses: \{/);
    expect(ops).not.toMatch(/responses: never/);
    // Compile code that reads typed fields of responses: it only type-checks if the generator
    // produced response types (a missing `responses` makes every lookup below an error).
    const usage = `
      import type { operations } from "./api";
      type Ok<O extends keyof operations, C extends keyof operations[O]["responses"]> =
        operations[O]["responses"][C] extends { content: { "application/json": infer T } } ? T : never;
      const list: Ok<"listProjects", 200> = { items: [] };
      const slug: string = (null as unknown as Ok<"getProject", 200>).slug;
      const created: boolean = (null as unknown as Ok<"startRound", 201>).created;
      const code: "not_found" | "forbidden" | "unauthorized" | "bad_request" | "conflict" | "gone" | "rate_limited" | "unavailable" | "internal" =
        (null as unknown as Ok<"getProject", 404>).error.code;
      // @ts-expect-error: a field the response does not have
      const nope = (null as unknown as Ok<"getProject", 200>).notAField;
      export { list, slug, created, code, nope };
    `;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pairwise-openapi-"));
    fs.writeFileSync(path.join(dir, "api.ts"), generated);
    fs.writeFileSync(path.join(dir, "use.ts"), usage);
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      types: [],
      lib: ["lib.es2022.d.ts"],
    };
    const program = ts.createProgram([path.join(dir, "use.ts")], options);
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(diagnostics).toEqual([]);
  });
});
