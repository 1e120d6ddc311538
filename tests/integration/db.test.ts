import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { migrate } from "@/server/db/migrate";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

test("prisma reads and writes through adapter-pg", async () => {
  const u = await t.prisma.user.create({
    data: { email: "a@example.com", name: "A", passwordHash: "x", role: "admin" },
  });
  const back = await t.prisma.user.findUniqueOrThrow({ where: { id: u.id } });
  expect(back.email).toBe("a@example.com");
  expect((back as Record<string, unknown>).passwordHash).toBeUndefined(); // omitted by default
  const withHash = await t.prisma.user.findUniqueOrThrow({
    where: { id: u.id },
    select: { passwordHash: true },
  });
  expect(withHash.passwordHash).toBe("x");
});

test("concurrent migrate calls apply each migration once", async () => {
  const results = await Promise.all([migrate(t.url), migrate(t.url), migrate(t.url)]);
  expect(results.every((r) => r.applied.length === 0)).toBe(true);
  const rows = await t.prisma.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*)::bigint AS n FROM "_prisma_migrations"`,
  );
  expect(Number(rows[0]!.n)).toBeGreaterThan(0);
});

test("interactive transactions see their own writes and isolate others", async () => {
  await t.prisma.$transaction(async (tx) => {
    await tx.auditLog.create({ data: { action: "tx-test" } });
    expect(await tx.auditLog.count({ where: { action: "tx-test" } })).toBe(1);
  });
  await expect(
    t.prisma.$transaction(async (tx) => {
      await tx.auditLog.create({ data: { action: "rolled-back" } });
      throw new Error("boom");
    }),
  ).rejects.toThrow("boom");
  expect(await t.prisma.auditLog.count({ where: { action: "rolled-back" } })).toBe(0);
});
