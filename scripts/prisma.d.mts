// Types for scripts/prisma.mjs (plain JS so it runs before anything is compiled).
export function prismaEnv(): NodeJS.ProcessEnv;
export function runPrisma(args: string[], opts?: { quiet?: boolean }): void;
export function ensurePrismaClient(): void;
