// The one place that reads process.env. Every variable Pairwise understands is declared here,
// parsed once with zod, and documented in README.md ("Configuration").
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { z } from "zod";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");
const port = z.coerce.number().int().min(1).max(65535);
const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "expected a URL like postgresql://user:password@host:5432/database");

export const envSchema = z.object({
  /**
   * production: secrets must be given (nothing is generated), NEXTAUTH_URL is required.
   * (Not NODE_ENV: Next.js sets that to "production" for every built app, the local demo too.)
   */
  PAIRWISE_MODE: z.enum(["development", "production"]).default("development"),
  /** External PostgreSQL. Unset: Pairwise starts its embedded database (PGlite). */
  DATABASE_URL: postgresUrl.optional(),
  /** Where the embedded database, secrets and checkpoints live. */
  PAIRWISE_DATA_DIR: z.string().min(1).default(".data"),
  /** Port of the embedded database's PostgreSQL wire-protocol server (localhost only). */
  PAIRWISE_DB_PORT: port.default(54329),
  /** Web app. */
  PORT: port.default(3000),
  PAIRWISE_HOST: z.string().min(1).default("127.0.0.1"),
  /** OpenAI-compatible server for our own checkpoints (`pairwise serve`). */
  PAIRWISE_SERVE_PORT: port.default(3001),
  /** If set, `pairwise serve` requires "Authorization: Bearer <this key>" (set it when serving beyond localhost). */
  PAIRWISE_SERVE_API_KEY: z.string().min(8, "must be at least 8 characters").optional(),
  /** Public URL of the web app (next-auth callbacks, invite links). */
  NEXTAUTH_URL: z.string().url("expected the app's public URL, e.g. https://pairwise.example.com").optional(),
  /** Signs session cookies. Required in production; generated into the data folder otherwise. */
  NEXTAUTH_SECRET: z
    .string()
    .min(16, "must be at least 16 characters; generate one with `openssl rand -base64 32`")
    .optional(),
  /** Encrypts judge API keys at rest (32+ chars). Required in production; generated otherwise. */
  PAIRWISE_ENCRYPTION_KEY: z
    .string()
    .min(32, "must be at least 32 characters; generate one with `openssl rand -base64 48`")
    .optional(),
  /** Folder of the checkpoint store. Default: <data dir>/checkpoints. */
  PAIRWISE_CHECKPOINT_DIR: z.string().min(1).optional(),
  /** Force a TensorFlow.js backend: tensorflow | webgpu | wasm | cpu. */
  PAIRWISE_TF_BACKEND: z.enum(["cuda", "tensorflow", "node", "webgpu", "wasm", "cpu"]).optional(),
  /**
   * Seed the demo projects and accounts (public passwords) on first start. Default: on in
   * development, off in production, where only an explicit PAIRWISE_DEMO=true or
   * `pairwise start --demo` seeds them.
   */
  PAIRWISE_DEMO: bool.optional(),
  /** Longest prompt or completion accepted by imports, in characters. */
  PAIRWISE_MAX_TEXT_CHARS: z.coerce.number().int().positive().default(200_000),
  /** Optional OAuth / OIDC sign-in (each provider switches on when its variables are all set). */
  GITHUB_ID: z.string().optional(),
  GITHUB_SECRET: z.string().optional(),
  OIDC_ISSUER: z.string().url("expected the issuer URL, e.g. https://accounts.example.com").optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_NAME: z.string().default("SSO"),
  /** Role given to people who first sign in through OAuth/OIDC. */
  PAIRWISE_OAUTH_DEFAULT_ROLE: z.enum(["annotator", "reviewer", "admin"]).default("annotator"),
  /** Which app processes `npm start` runs besides web (comma-separated: worker,trainer,serve). Default: all. */
  PAIRWISE_PROCESSES: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.enum(["web", "worker", "trainer", "serve"], {
          message: "expected a comma-separated list of web, worker, trainer, serve",
        }),
      ),
    )
    .optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /**
   * Abuse limits (server/auth/rate-limit.ts): "off", or overrides of the defaults as
   * "bucket=limit/seconds,...", e.g. "signin.account=5/600,token.account=600/60".
   */
  PAIRWISE_RATE_LIMITS: z.string().optional(),
  /** Behind a reverse proxy: take the client's address from X-Forwarded-For (the proxy's own hop is the last). */
  PAIRWISE_TRUST_PROXY: bool.default(false),
  /** Developer switch: write V8 CPU profiles of the app processes into this folder. */
  PAIRWISE_CPU_PROFILE: z.string().min(1).optional(),
});

export type Env = Omit<z.infer<typeof envSchema>, "PAIRWISE_DEMO"> & {
  /** Whether to seed the demo on first start (see PAIRWISE_DEMO). */
  PAIRWISE_DEMO: boolean;
  dataDir: string;
  checkpointDir: string;
  nextAuthSecret: string;
  encryptionKey: string;
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Parse an environment; throws ConfigError naming each wrong variable and what it expects. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset" (a common shell and .env habit).
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const name = i.path.join(".");
      return `  ${name}=${JSON.stringify(source[name] ?? "")}: ${i.message}`;
    });
    throw new ConfigError(
      `Invalid configuration:\n${lines.join("\n")}\nFix these variables (see README.md, "Configuration") and start again.`,
    );
  }
  const e = result.data;
  const dataDir = path.resolve(e.PAIRWISE_DATA_DIR);
  const production = e.PAIRWISE_MODE === "production";
  const missing: string[] = [];
  if (production && !e.NEXTAUTH_SECRET)
    missing.push("NEXTAUTH_SECRET (signs sessions; `openssl rand -base64 32`)");
  if (production && !e.PAIRWISE_ENCRYPTION_KEY)
    missing.push("PAIRWISE_ENCRYPTION_KEY (encrypts judge API keys; `openssl rand -base64 48`)");
  if (production && !e.NEXTAUTH_URL) missing.push("NEXTAUTH_URL (the app's public URL)");
  if (missing.length) {
    throw new ConfigError(
      `Missing required secret${missing.length > 1 ? "s" : ""} in production mode:\n${missing.map((m) => "  " + m).join("\n")}\nSet ${missing.length > 1 ? "them" : "it"} in the environment and start again.`,
    );
  }
  const pairs: Array<[string | undefined, string | undefined, string]> = [
    [e.GITHUB_ID, e.GITHUB_SECRET, "GITHUB_ID and GITHUB_SECRET"],
    [e.OIDC_CLIENT_ID, e.OIDC_CLIENT_SECRET, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"],
  ];
  for (const [a, b, names] of pairs) {
    if (Boolean(a) !== Boolean(b))
      throw new ConfigError(`Invalid configuration: ${names} must be set together (or both left unset).`);
  }
  if (e.OIDC_CLIENT_ID && !e.OIDC_ISSUER)
    throw new ConfigError(
      "Invalid configuration: OIDC_CLIENT_ID is set but OIDC_ISSUER is not; set the issuer URL.",
    );
  return {
    ...e,
    PAIRWISE_DEMO: e.PAIRWISE_DEMO ?? !production,
    dataDir,
    checkpointDir: path.resolve(e.PAIRWISE_CHECKPOINT_DIR ?? path.join(dataDir, "checkpoints")),
    nextAuthSecret: e.NEXTAUTH_SECRET ?? localSecret(dataDir, "nextauth-secret"),
    encryptionKey: e.PAIRWISE_ENCRYPTION_KEY ?? localSecret(dataDir, "encryption-key"),
  };
}

/** Outside production, secrets are generated once and kept in the data folder (mode 0600). */
function localSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, "secrets", name);
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const value = crypto.randomBytes(48).toString("base64url");
    try {
      fs.writeFileSync(file, value, { mode: 0o600, flag: "wx" });
      return value;
    } catch {
      return fs.readFileSync(file, "utf8").trim(); // another process won the race
    }
  }
}

/**
 * The database this process talks to. DATABASE_URL as the process got it (read live: tests and
 * the supervisor's children set it before the first query), unless this process resolved another
 * one itself (the CLI starting or finding the embedded database calls setDatabaseUrl).
 */
let resolvedDatabaseUrl: string | undefined;
export function setDatabaseUrl(url: string | undefined): void {
  resolvedDatabaseUrl = url;
}
export function maybeDatabaseUrl(): string | undefined {
  return resolvedDatabaseUrl ?? (process.env.DATABASE_URL || undefined);
}
export function databaseUrl(): string {
  const url = maybeDatabaseUrl();
  if (!url)
    throw new Error(
      "DATABASE_URL is not set: start Pairwise with `npm start`, or set DATABASE_URL to a PostgreSQL URL.",
    );
  return url;
}

/** The environment for a child process: this one's, plus what the caller sets. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

let cached: Env | undefined;
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}
/** Tests change variables between cases. */
export function resetEnvForTests(): void {
  cached = undefined;
}
