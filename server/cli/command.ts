// What a `pairwise` command is. One file per command in server/cli/commands/; add a command by
// writing its file and adding one line to server/cli/commands/index.ts.
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `pairwise --help`. */
  summary: string;
  /** Full help: usage, options, examples. */
  help: string;
  options?: Options;
  run(args: Parsed, io: Io): Promise<number>;
}

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export function parse(cmd: Command, argv: string[]): Parsed {
  try {
    const r = parseArgs({
      args: argv,
      options: { help: { type: "boolean", short: "h" }, ...(cmd.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
}

export const str = (v: Parsed["values"][string]): string | undefined =>
  typeof v === "string" ? v : undefined;

export function num(
  v: Parsed["values"][string],
  name: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (
    typeof v !== "string" ||
    !Number.isFinite(n) ||
    (range.min !== undefined && n < range.min) ||
    (range.max !== undefined && n > range.max)
  ) {
    throw new UsageError(
      `--${name} must be a number${range.min !== undefined ? ` from ${range.min}` : ""}${range.max !== undefined ? ` to ${range.max}` : ""}, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

export function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

export const println = (s: NodeJS.WritableStream, line = "") => s.write(line + "\n");

/** Plain aligned columns for list output. */
export function table(rows: string[][]): string {
  if (!rows.length) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
