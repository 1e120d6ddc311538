// Demo accounts (public passwords) only in development or when asked for (issue 15, item 6):
// production on an empty database seeds nobody, so admin@pairwise.local / pairwise-admin cannot
// sign in; the first admin comes from `pairwise users create --role admin`.
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { parseEnv } from "@/server/env";
import { firstStartAccounts } from "@/server/processes/supervisor";
import { checkCredentials } from "@/server/auth/users";
import { main } from "@/server/cli/index";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

const production = {
  PAIRWISE_DATA_DIR: "/tmp/pairwise-demo-test",
  PAIRWISE_MODE: "production",
  NEXTAUTH_SECRET: "x".repeat(32),
  PAIRWISE_ENCRYPTION_KEY: "y".repeat(48),
  NEXTAUTH_URL: "https://pairwise.example.com",
};

test("production on an empty database: no demo accounts; the first admin from the CLI", async () => {
  const demo = parseEnv(production).PAIRWISE_DEMO;
  expect(demo).toBe(false);
  expect(await firstStartAccounts(t.url, { demo })).toEqual({ seeded: false, noUsers: true });
  expect(await t.prisma.user.count()).toBe(0);
  expect(await checkCredentials("admin@pairwise.local", "pairwise-admin")).toBeNull();

  const io = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin: Readable.from(["a-long-password\n"]),
  };
  expect(
    await main(["users", "create", "--email", "boss@example.com", "--role", "admin", "--password-stdin"], io),
  ).toBe(0);
  expect(await checkCredentials("boss@example.com", "a-long-password")).toMatchObject({ role: "admin" });
  expect(await firstStartAccounts(t.url, { demo: true })).toEqual({ seeded: false, noUsers: false });
  expect(await checkCredentials("admin@pairwise.local", "pairwise-admin")).toBeNull();
});

test("--demo (or development) on an empty database seeds the demo accounts", async () => {
  await t.prisma.auditLog.deleteMany();
  await t.prisma.user.deleteMany();
  expect(parseEnv({ PAIRWISE_DATA_DIR: "/tmp/pairwise-demo-test" }).PAIRWISE_DEMO).toBe(true);
  expect(await firstStartAccounts(t.url, { demo: true })).toEqual({ seeded: true, noUsers: false });
  expect(await checkCredentials("admin@pairwise.local", "pairwise-admin")).toMatchObject({ role: "admin" });
  // The demo's annotators are members of the demo projects.
  const ann = await t.prisma.user.findUniqueOrThrow({ where: { email: "annotator@pairwise.local" } });
  expect(await t.prisma.projectMember.count({ where: { userId: ann.id } })).toBe(2);
}, 180_000);
