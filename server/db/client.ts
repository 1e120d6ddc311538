// One Prisma client per process, connected through @prisma/adapter-pg to DATABASE_URL — the
// embedded database's localhost server or an external PostgreSQL alike.
import { PrismaClient } from "@prisma/client";
import { PrismaPg } from "@prisma/adapter-pg";

export type Db = PrismaClient;

export function createPrisma(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString, max: opts.max ?? 10 });
  // passwordHash never leaves by accident: code that checks passwords selects it explicitly.
  return new PrismaClient({ adapter, omit: { user: { passwordHash: true } } }) as unknown as PrismaClient;
}

const globalForPrisma = globalThis as unknown as { pairwisePrisma?: PrismaClient };

/** The process's client; DATABASE_URL is set by `npm start`'s supervisor or the operator. */
export function db(): PrismaClient {
  if (!globalForPrisma.pairwisePrisma) {
    // eslint-disable-next-line no-restricted-properties -- resolved by server/env.ts at process start
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set: start Pairwise with `npm start`, or set DATABASE_URL to a PostgreSQL URL.");
    globalForPrisma.pairwisePrisma = createPrisma(url);
  }
  return globalForPrisma.pairwisePrisma;
}

/** Tests point the process's client at their own database. */
export function setDbForTests(client: PrismaClient | undefined): void {
  globalForPrisma.pairwisePrisma = client;
}
