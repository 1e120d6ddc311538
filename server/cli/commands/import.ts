// pairwise import <file|-> --project <slug>
import { withDatabase } from "@/server/db/connect";
import { importFile, importStream, type ImportResult } from "@/server/data/import";
import { num, println, str, UsageError, type Command } from "../command";
import { progressBar } from "../progress";

export const importCommand: Command = {
  name: "import",
  summary: "Import prompts, completions and preferences from JSON Lines / JSON (TRL, HH-RLHF, OpenAI)",
  help: `Usage: pairwise import <file|-> --project <id-or-slug> [options]

Imports a JSON Lines file (one JSON object per line) or a JSON array, optionally gzip-compressed;
"-" reads standard input. Each row is detected on its own:
  {"prompt": ...}                                   a prompt
  {"prompt": ..., "completions": [...], "ranking"?}  a comparison (with an imported ranking)
  {"prompt", "chosen", "rejected"}                  TRL preference (strings or conversations)
  {"chosen", "rejected"}                            HH-RLHF transcripts or implicit-prompt conversations
  {"messages": [...]}                               OpenAI chat (last assistant message = completion)
  {"input", "preferred_output", "non_preferred_output"}  OpenAI preference fine-tuning
Importing the same file again adds nothing. Bad rows are skipped and listed with their line number.

Options:
  -p, --project <id-or-slug>  project for rows without a "project" field
      --batch-size <n>        rows per transaction (default 2000)
      --json                  print the full report as JSON on stdout
  -h, --help                  show this help

Exit status: 0 every row imported (or already there), 2 imported but some rows were bad,
1 nothing could be imported (the file is unreadable, or every row is bad).

Examples:
  pairwise import prefs.jsonl --project helpfulness
  gunzip -c hh-rlhf-train.jsonl.gz | pairwise import - -p hh`,
  options: {
    project: { type: "string", short: "p" },
    "batch-size": { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const file = positionals[0];
    if (!file) throw new UsageError("give the file to import (or - for standard input)");
    if (positionals.length > 1) throw new UsageError(`one file at a time (got ${positionals.length})`);
    const project = str(values.project);
    const batchSize = num(values["batch-size"], "batch-size", { min: 1, max: 100_000 });
    const bar = progressBar(io, "importing");
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once("SIGINT", onSigint);
    let result: ImportResult;
    try {
      result = await withDatabase(async () => {
        const opts = {
          project,
          batchSize,
          signal: ac.signal,
          onProgress: (p: { bytesDone: number; bytesTotal: number | null; rowsDone: number }) =>
            bar.update({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rows: p.rowsDone }),
        };
        return file === "-"
          ? importStream(io.stdin as AsyncIterable<Uint8Array>, { ...opts, fileName: "stdin" })
          : importFile(file, opts);
      });
    } finally {
      process.off("SIGINT", onSigint);
      bar.done();
    }
    const r = result.report;
    if (values.json) println(io.stdout, JSON.stringify(result, null, 2));
    else {
      println(io.stdout, r.summary);
      const formats = Object.entries(r.byFormat)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      println(
        io.stdout,
        `rows ${r.rows}  valid ${r.valid}  invalid ${r.invalid}  duplicates ${r.duplicates}${formats ? `  (${formats})` : ""}`,
      );
      println(
        io.stdout,
        `added: ${r.added.prompts} prompts, ${r.added.completions} completions, ${r.added.comparisons} comparisons, ${r.added.judgments} judgments, ${r.added.pairs} pairs`,
      );
      for (const note of r.notes) println(io.stdout, `note: ${note}`);
      if (r.errors.length) {
        println(io.stdout, `first bad rows:`);
        for (const e of r.errors.slice(0, 20)) println(io.stdout, `  line ${e.line}: ${e.reason}`);
        if (r.invalid > 20)
          println(io.stdout, `  … and ${r.invalid - 20} more (pairwise import --json lists up to 100)`);
      }
      println(io.stdout, `import job ${result.jobId}`);
    }
    if (result.status === "failed") {
      if (!values.json) io.stderr.write(`error: ${result.error ?? "the import failed"}\n`);
      return 1;
    }
    if (r.valid === 0 && r.invalid > 0) {
      if (!values.json)
        io.stderr.write(`error: nothing could be imported: all ${r.invalid} rows are bad (see above)\n`);
      return 1;
    }
    return r.invalid > 0 ? 2 : 0;
  },
};
