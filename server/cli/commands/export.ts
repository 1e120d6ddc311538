// pairwise export --project <slug> [--format trl|kto|hh|votes] [--out file]
import fs from "node:fs";
import path from "node:path";
import { withDatabase } from "@/server/db/connect";
import { writeExport, type ExportFilter } from "@/server/data/export";
import { db } from "@/server/db/client";
import { audit } from "@/server/audit/audit";
import { num, println, str, UsageError, type Command } from "../command";

export const exportCommand: Command = {
  name: "export",
  summary: "Export preference pairs or raw votes as JSON Lines (TRL, KTO, HH-RLHF, votes)",
  help: `Usage: pairwise export --project <id-or-slug> [options]

Writes one JSON object per line, read from one consistent database snapshot (or a frozen dataset
snapshot). With --out the file appears only when complete (written beside it, then renamed).

Options:
  -p, --project <id-or-slug>  project (required)
  -f, --format <format>       trl (default): {prompt, chosen, rejected, margin, ...provenance}
                              kto: {prompt, completion, label}
                              hh: {chosen, rejected} HH-RLHF transcripts
                              votes: every judgment with annotator, display order, time spent
  -o, --out <file>            write to a file (default: standard output)
      --snapshot <id>         read a frozen snapshot's pairs
      --split <split>         with --snapshot: train, validation or test
      --min-agreement <x>     only pairs with agreement >= x (0..1)
      --human-only            only pairs from human judgments
      --ai-only               only pairs from AI judgments
      --origin <list>         origins to keep: human,ai,mixed,import
      --from <date>           created at or after (ISO date or date-time)
      --to <date>             created before
      --conversational        trl/kto: write text prompts as conversations
  -h, --help                  show this help

Examples:
  pairwise export -p helpfulness -o prefs.jsonl
  pairwise export -p helpfulness --snapshot <id> --split validation --format kto`,
  options: {
    project: { type: "string", short: "p" },
    format: { type: "string", short: "f" },
    out: { type: "string", short: "o" },
    snapshot: { type: "string" },
    split: { type: "string" },
    "min-agreement": { type: "string" },
    "human-only": { type: "boolean" },
    "ai-only": { type: "boolean" },
    origin: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    conversational: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const project = str(values.project);
    if (!project) throw new UsageError("--project is required");
    const format = str(values.format) ?? "trl";
    if (!["trl", "kto", "hh", "votes"].includes(format))
      throw new UsageError(`--format must be trl, kto, hh or votes, got ${JSON.stringify(format)}`);
    if (values["human-only"] && values["ai-only"])
      throw new UsageError("--human-only and --ai-only exclude each other");
    const date = (v: unknown, name: string) => {
      if (typeof v !== "string") return undefined;
      const d = new Date(v);
      if (Number.isNaN(d.getTime()))
        throw new UsageError(
          `--${name} must be a date like 2025-01-31 or 2025-01-31T12:00:00Z, got ${JSON.stringify(v)}`,
        );
      return d;
    };
    const origins = values["human-only"]
      ? ["human"]
      : values["ai-only"]
        ? ["ai"]
        : str(values.origin)?.split(",").filter(Boolean);
    const filter: ExportFilter = {
      project,
      format: format as ExportFilter["format"],
      snapshotId: str(values.snapshot),
      split: str(values.split) as ExportFilter["split"],
      minAgreement: num(values["min-agreement"], "min-agreement", { min: 0, max: 1 }),
      origins: origins as ExportFilter["origins"],
      from: date(values.from, "from"),
      to: date(values.to, "to"),
      conversational: Boolean(values.conversational),
    };
    const out = str(values.out);
    return withDatabase(async () => {
      await audit(db(), {
        actorId: null,
        action: "export.run",
        target: project,
        data: { via: "cli", format: filter.format, snapshotId: filter.snapshotId ?? null, out: out ?? "-" },
      });
      if (!out || out === "-") {
        await writeExport(filter, io.stdout);
        return 0;
      }
      const tmp = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${process.pid}.partial`);
      const stream = fs.createWriteStream(tmp);
      try {
        const { lines, bytes } = await writeExport(filter, stream);
        await new Promise<void>((resolve, reject) =>
          stream.end((e?: Error | null) => (e ? reject(e) : resolve())),
        );
        fs.renameSync(tmp, out);
        println(
          io.stderr,
          `wrote ${lines.toLocaleString("en")} rows (${(bytes / 1024 / 1024).toFixed(1)} MB) to ${out}`,
        );
        return 0;
      } catch (e) {
        stream.destroy();
        fs.rmSync(tmp, { force: true });
        throw e;
      }
    });
  },
};
