// pairwise projects list|show|create
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { createProject, getProject, listProjects } from "@/server/projects/projects";
import { num, println, str, table, UsageError, type Command } from "../command";

export const projectsCommand: Command = {
  name: "projects",
  summary: "List, show and create projects",
  help: `Usage:
  pairwise projects list [--all]
  pairwise projects show <id-or-slug>
  pairwise projects create --slug <slug> --name <name> [--kind pairwise|ranking] [--overlap n]
                           [--consensus majority|weighted] [--ai-counts]

Options:
      --all                 include archived projects
      --slug <slug>         lowercase letters, digits and -
      --name <name>         display name
      --kind <kind>         pairwise (A/B, tie, both bad; default) or ranking (K-way)
      --overlap <n>         judgments wanted per comparison (default 1)
      --consensus <rule>    majority (default) or weighted (by annotators' gold accuracy)
      --ai-counts           AI judgments count toward consensus
      --json                print JSON
  -h, --help                show this help`,
  options: {
    all: { type: "boolean" },
    slug: { type: "string" },
    name: { type: "string" },
    kind: { type: "string" },
    overlap: { type: "string" },
    consensus: { type: "string" },
    "ai-counts": { type: "boolean" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [sub, arg] = positionals;
    return withDatabase(async () => {
      if (sub === "list" || sub === undefined) {
        const ps = await listProjects(db(), { includeArchived: Boolean(values.all) });
        if (values.json) println(io.stdout, JSON.stringify(ps, null, 2));
        else if (!ps.length)
          println(
            io.stdout,
            'No projects yet: create one with `pairwise projects create --slug my-project --name "My project"`.',
          );
        else
          println(
            io.stdout,
            table([
              ["ID", "SLUG", "KIND", "OVERLAP", "NAME"],
              ...ps.map((p) => [
                p.id,
                p.slug,
                p.labelSchema.kind,
                String(p.overlap),
                p.name + (p.archived ? " (archived)" : ""),
              ]),
            ]),
          );
        return 0;
      }
      if (sub === "show") {
        if (!arg) throw new UsageError("give the project's id or slug");
        println(io.stdout, JSON.stringify(await getProject(db(), arg), null, 2));
        return 0;
      }
      if (sub === "create") {
        const kind = str(values.kind) ?? "pairwise";
        if (kind !== "pairwise" && kind !== "ranking")
          throw new UsageError(`--kind must be pairwise or ranking, got ${JSON.stringify(kind)}`);
        const consensus = str(values.consensus) ?? "majority";
        if (consensus !== "majority" && consensus !== "weighted")
          throw new UsageError(`--consensus must be majority or weighted`);
        const p = await createProject(db(), {
          slug: str(values.slug) ?? "",
          name: str(values.name) ?? str(values.slug) ?? "",
          labelSchema: { kind },
          overlap: num(values.overlap, "overlap", { min: 1, max: 50 }),
          consensusRule: consensus,
          aiCountsTowardConsensus: Boolean(values["ai-counts"]),
        });
        println(io.stdout, values.json ? JSON.stringify(p, null, 2) : `created project ${p.slug} (${p.id})`);
        return 0;
      }
      throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use list, show or create`);
    });
  },
};
