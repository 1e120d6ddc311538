// pairwise snapshot create --project <slug>
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { getProjectOrThrow } from "@/server/projects/projects";
import { createSnapshot, getSnapshot } from "@/server/data/snapshots";
import { num, println, str, UsageError, type Command } from "../command";

export const snapshotCommand: Command = {
  name: "snapshot",
  summary: "Freeze a project's preference pairs into a hashed train/validation snapshot",
  help: `Usage:
  pairwise snapshot create --project <id-or-slug> [--validation 0.1] [--seed s] [--min-agreement x] [--human-only|--ai-only]
  pairwise snapshot show <id>

The split is by prompt (no prompt is on both sides); the hash is over the pairs' content, so the
same pairs always give the same hash.`,
  options: {
    project: { type: "string", short: "p" },
    validation: { type: "string" },
    seed: { type: "string" },
    "min-agreement": { type: "string" },
    "human-only": { type: "boolean" },
    "ai-only": { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [sub, arg] = positionals;
    return withDatabase(async () => {
      if (sub === "create") {
        const project = str(values.project);
        if (!project) throw new UsageError("--project is required");
        const p = await getProjectOrThrow(db(), project);
        const s = await createSnapshot(db(), p.id, {
          validationFraction: num(values.validation, "validation", { min: 0, max: 1 }),
          seed: str(values.seed),
          minAgreement: num(values["min-agreement"], "min-agreement", { min: 0, max: 1 }),
          origins: values["human-only"] ? ["human"] : values["ai-only"] ? ["ai"] : undefined,
        });
        println(io.stdout, JSON.stringify(s, null, 2));
        return 0;
      }
      if (sub === "show") {
        if (!arg) throw new UsageError("give the snapshot id");
        println(io.stdout, JSON.stringify(await getSnapshot(db(), arg), null, 2));
        return 0;
      }
      throw new UsageError(`unknown subcommand ${JSON.stringify(sub ?? "")}: use create or show`);
    });
  },
};
