// The soak benchmark (bench/soak/soak.ts says what it does and checks): the real system under
// load from simulated annotators while processes are SIGKILLed and connections cut.
//
//   npm run bench -- soak [--db postgres,embedded] [--seconds 600] [--annotators 200]
//        [--fault-every 15-30] [--think 1000-3000] [--comparisons 20000] [--overlap 3]
//        [--pg postgresql://postgres@127.0.0.1:5432/postgres]
// Writes bench/results/soak.json and soak.md; exits 1 if an invariant fails.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { runSoak, soakTable, type DbMode, type SoakResult } from "./soak";

const { values: args } = parseArgs({
  options: {
    db: { type: "string", default: "postgres,embedded" },
    seconds: { type: "string", default: "600" },
    annotators: { type: "string", default: "200" },
    "fault-every": { type: "string", default: "15-30" }, // seconds between faults
    think: { type: "string", default: "1000-3000" }, // ms between one annotator's cycles
    comparisons: { type: "string", default: "20000" },
    overlap: { type: "string", default: "3" },
    pg: { type: "string", default: "postgresql://postgres@127.0.0.1:5432/postgres" },
    out: { type: "string", default: "bench/results" },
  },
});
const range = (s: string, scale = 1): [number, number] => {
  const [a, b] = s.split("-").map(Number);
  return [a! * scale, (b ?? a!) * scale];
};

const results: SoakResult[] = [];
for (const mode of args.db!.split(",") as DbMode[]) {
  const logFile = path.join(args.out!, `soak-${mode}.log`);
  fs.mkdirSync(args.out!, { recursive: true });
  fs.writeFileSync(logFile, "");
  const r = await runSoak({
    mode,
    seconds: Number(args.seconds),
    annotators: Number(args.annotators),
    comparisons: Number(args.comparisons),
    overlap: Number(args.overlap),
    thinkMs: range(args.think!),
    faultEveryMs: range(args["fault-every"]!, 1000),
    pgAdminUrl: args.pg!,
    logFile,
  });
  console.log(JSON.stringify(r, null, 2));
  results.push(r);
}
const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const date = new Date().toISOString();
fs.writeFileSync(
  path.join(args.out!, "soak.json"),
  JSON.stringify({ date, machine, args, results }, null, 2),
);
const md = `# Soak: ${date}\n\n${machine}; \`npm run bench -- soak ${process.argv.slice(2).join(" ")}\`\n\n${soakTable(results)}`;
fs.writeFileSync(path.join(args.out!, "soak.md"), md);
console.log(md);
process.exit(results.every((r) => r.ok) ? 0 : 1);
