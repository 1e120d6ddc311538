// Prisma CLI configuration. The JS/WASM schema engine (engine: "js") talks to the database
// through a driver adapter, so the CLI needs no downloaded binary (see ENVIRONMENT.md).
// Migrations are applied at start by server/db/migrate.ts; this config serves `prisma generate`,
// `prisma migrate diff`, and `prisma migrate status/deploy` against a PGlite folder named by
// PRISMA_PGLITE_DIR (in memory when unset). tests/integration/migrate.test.ts uses the latter to
// check that the real `prisma migrate deploy` agrees with what our runner applied.
import path from "node:path";
import { defineConfig } from "prisma/config";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    const { PGlite } = await import("@electric-sql/pglite");
    const { PrismaPGlite } = await import("pglite-prisma-adapter");
    const dir = process.env.PRISMA_PGLITE_DIR;
    // pglite-prisma-adapter bundles its own copy of driver-adapter-utils; the shapes agree.
    return new PrismaPGlite(dir ? new PGlite(dir) : new PGlite()) as never;
  },
});
