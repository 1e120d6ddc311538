// The short soak (bench/soak/soak.ts; the long one is `npm run bench -- soak`): 2 web processes,
// 2 workers and the trainer under 200 simulated annotators over real HTTP, while web, worker,
// trainer and database processes are SIGKILLed (on PostgreSQL, the soak database's connections
// are terminated instead: the server is shared) and every connection is cut. Afterwards, from the
// database: every acknowledged submit stored exactly once, no comparison over its overlap, the
// judgment and lease counters equal to the rows, no stuck lease, no stuck job.
// Embedded database by default; on PostgreSQL with TEST_DATABASE_URL.
import fs from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { runSoak, soakTable } from "../../bench/soak/soak";
import { ROOT } from "../helpers/app";

test("acknowledged submits survive SIGKILLs and connection cuts: none lost, none duplicated", async () => {
  const mode = process.env.TEST_DATABASE_URL ? "postgres" : "embedded";
  const logFile = path.join(ROOT, "tests/artifacts", `soak-${mode}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, "");
  const r = await runSoak({
    mode,
    seconds: 20,
    annotators: 200,
    comparisons: 3000,
    overlap: 3,
    thinkMs: [1500, 3500],
    faultEveryMs: [3000, 4500],
    pgAdminUrl: process.env.TEST_DATABASE_URL ?? "",
    logFile,
    log: () => {},
  });
  console.log(soakTable([r]));
  const why = `${JSON.stringify(r, null, 2)}\n(process output: ${logFile})`;
  // every kind of fault happened (round robin), and the processes came back
  expect(r.faults.web, why).toBeGreaterThan(0);
  expect(r.faults.worker, why).toBeGreaterThan(0);
  expect(r.faults.trainer + r.faults.database + r.faults.terminate + r.faults.cut, why).toBeGreaterThan(1);
  expect(r.acknowledged, why).toBeGreaterThan(100);
  expect(r.lost, why).toBe(0);
  expect(r.duplicated, why).toBe(0);
  expect(r.overOverlap, why).toBe(0);
  expect(r.judgmentCountMismatch, why).toBe(0);
  expect(r.leaseCountMismatch, why).toBe(0);
  expect(r.stuckLeases, why).toBe(0);
  expect(r.stuckJobs, why).toBe(0);
}, 240_000);
