// A trainer in a child process, for the kill-and-resume test: runs one round against the test
// database, the way the trainer service would, until it ends or is killed.
//   PAIRWISE_CHECKPOINT_DIR=<root> node --import tsx tests/integration/training/round-child.ts <databaseUrl> <roundId>
import { selectBackend } from "@/trainer";
import { createPrisma, setDbForTests } from "@/server/db/client";
import { executeRound } from "@/server/training/engine";

const [url, roundId] = process.argv.slice(2) as [string, string];
await selectBackend({ force: "wasm", log: () => {} });
const prisma = createPrisma(url, { max: 2 });
setDbForTests(prisma);
const result = await executeRound(roundId, { leaseMs: 30_000, log: (m) => console.log(m) });
console.log(`RESULT ${result}`);
await prisma.$disconnect();
process.exit(0);
