// A trainer in a child process, for the kill-and-resume test: runs one round against the test
// database, the way the trainer service would, until it ends or is killed. With a kill point
// "<stage>:<step>" it sends itself SIGKILL (kill -9: no cleanup, no lease release) when the round
// reports that step of that stage, so the test kills it at the same place on a fast or slow machine.
//   PAIRWISE_CHECKPOINT_DIR=<root> node --import tsx tests/integration/training/round-child.ts <databaseUrl> <roundId> [stage:step]
import { selectBackend } from "@/trainer";
import { createPrisma, setDbForTests } from "@/server/db/client";
import { executeRound } from "@/server/training/engine";

const [url, roundId, killAt] = process.argv.slice(2) as [string, string, string | undefined];
const [killStage, killStep] = killAt ? [killAt.split(":")[0], Number(killAt.split(":")[1])] : [null, 0];
await selectBackend({ force: "wasm", log: () => {} });
const prisma = createPrisma(url, { max: 2 });
setDbForTests(prisma);
const result = await executeRound(roundId, {
  leaseMs: 30_000,
  log: (m) => console.log(m),
  onStep: (stage, step) => {
    if (stage === killStage && step >= killStep) process.kill(process.pid, "SIGKILL");
  },
});
console.log(`RESULT ${result}`);
await prisma.$disconnect();
process.exit(0);
