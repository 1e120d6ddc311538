// The OpenAPI 3.1 document, generated from the route table's zod schemas (z.toJSONSchema emits
// JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect).
import { z } from "zod";
import { API_PREFIX, type RouteDef } from "./http";
import { ErrorOut } from "./routes";
import { allRoutes } from "./registry";

type Json = Record<string, unknown>;

function schema(t: z.ZodType, io: "input" | "output"): Json {
  const s = z.toJSONSchema(t, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;
  delete s.$schema;
  return s;
}

function parameters(obj: z.ZodObject | undefined, where: "path" | "query"): Json[] {
  if (!obj) return [];
  const s = schema(obj, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === "path" || (s.required ?? []).includes(name),
    ...(typeof prop.description === "string" ? { description: prop.description } : {}),
    schema: prop,
    ...(where === "query" && prop.type === "array" ? { style: "form", explode: false } : {}),
  }));
}

const STATUS_TEXT: Record<number, string> = {
  400: "Invalid request",
  401: "No valid API token",
  403: "Missing scope or role",
  404: "Not found",
};

const errorResponse = (description: string): Json => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/** Statuses some routes answer besides their main one: more successes (same body) and errors. */
const EXTRA_RESPONSES: Record<string, { ok?: Record<number, string>; errors?: Record<number, string> }> = {
  recordJudgment: { errors: { 409: "Conflict (e.g. superseding a judgment that is already superseded)" } },
  importData: { errors: { 422: "The file could not be read as JSON (the body holds the report)" } },
  startRound: {
    ok: { 200: "A round was already queued or running: that one, with created=false" },
    errors: { 409: "The project is archived" },
  },
  annotationSubmit: { errors: { 409: "Conflict", 410: "The lease expired" } },
  annotationHeartbeat: { errors: { 410: "The lease expired" } },
};

export function openApiDocument(serverUrl?: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of Object.values(allRoutes) as RouteDef[]) {
    const op: Json = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
    };
    if (route.scope) {
      op.security = [{ bearerAuth: [] }];
      op["x-pairwise-scope"] = route.scope;
      if (route.role) op["x-pairwise-role"] = route.role;
      op.description = `${route.description ? route.description + "\n\n" : ""}Needs a token with the \`${route.scope}\` scope${route.role ? ` whose user has the ${route.role} role (or higher)` : ""}.`;
    }
    if (route.body) {
      op.requestBody =
        route.body instanceof z.ZodType
          ? { required: true, content: { "application/json": { schema: schema(route.body, "input") } } }
          : {
              required: true,
              description: route.body.description,
              content: Object.fromEntries(
                route.body.stream.map((t) => [t, { schema: { type: "string", format: "binary" } }]),
              ),
            };
    }
    const ok =
      route.response instanceof z.ZodType
        ? { "application/json": { schema: schema(route.response, "output") } }
        : { [route.response.stream]: { schema: { type: "string" } } };
    const okResponse = {
      description: route.response instanceof z.ZodType ? "OK" : route.response.description,
      content: ok,
    };
    const responses: Json = { [String(route.status ?? 200)]: okResponse };
    const extra = EXTRA_RESPONSES[route.operationId] ?? {};
    for (const [code, description] of Object.entries(extra.ok ?? {}))
      responses[code] = { ...okResponse, description };
    const errors = [...(route.scope ? [400, 401, 403, 404] : [400]), ...Object.keys(extra.errors ?? {})];
    for (const code of errors.map(Number))
      responses[String(code)] = errorResponse(extra.errors?.[code] ?? STATUS_TEXT[code]!);
    responses["default"] = errorResponse("Unexpected error (429 rate limited, 500 internal)");
    op.responses = responses;
    (paths[`${API_PREFIX}${route.path}`] ??= {})[route.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Pairwise API",
      version: "1",
      description:
        "Preference data for RLHF: projects, comparisons, judgments, preference pairs, streaming import and export in TRL, HH-RLHF and OpenAI formats. Authenticate with an API token: `Authorization: Bearer pw_...`.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "An API token (pw_...) with read, write or admin scope",
        },
      },
      schemas: { Error: schema(ErrorOut, "output") },
    },
  };
}
