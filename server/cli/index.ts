// The `pairwise` command line. bin/pairwise.mjs loads this file through tsx and exits with the
// code main() returns. Commands live one per file in ./commands (table: ./commands/index.ts).
import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "@/server/env";
import { isDomainError } from "@/server/errors";
import { commands } from "./commands";
import { parse, println, UsageError, type Command, type Io } from "./command";

const ROOT = path.resolve(import.meta.dirname, "../..");

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

function usage(list: Command[]): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return `Pairwise ${version()}: human feedback and RLHF training.

Usage: pairwise <command> [options]

Commands:
${list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`pairwise <command> --help\` for a command's options.
Configuration comes from environment variables (DATABASE_URL, PAIRWISE_DATA_DIR, ...; see README.md).`;
}

const defaultIo: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };

/** Run one command; returns the process exit code (0 ok, 1 failed, 2 usage error or partial import). */
export async function main(argv: string[], io: Io = defaultIo, list: Command[] = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const target = name === "help" && rest[0] ? list.find((c) => c.name === rest[0]) : undefined;
    println(io.stdout, target ? target.help : usage(list));
    return 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    println(io.stdout, version());
    return 0;
  }
  const cmd = list.find((c) => c.name === name);
  if (!cmd) {
    const close = list.filter((c) => c.name.startsWith(name.slice(0, 2))).map((c) => c.name);
    io.stderr.write(
      `error: unknown command "${name}"${close.length ? ` (did you mean ${close.join(" or ")}?)` : ""}\nRun \`pairwise --help\` for the list of commands.\n`,
    );
    return 2;
  }
  try {
    const args = parse(cmd, rest);
    if (args.values.help) {
      println(io.stdout, cmd.help);
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`error: ${e.message}\nRun \`pairwise ${cmd.name} --help\` for usage.\n`);
      return 2;
    }
    if (isDomainError(e) || e instanceof ConfigError) {
      io.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    const err = e as Error;
    // Errors written for people (database unreachable, data folder locked, schema too new) say what to do.
    if (/Error$/.test(err.name) && err.name !== "Error" && err.name !== "TypeError")
      io.stderr.write(`error: ${err.message}\n`);
    else io.stderr.write(`error: ${err.message}\n${err.stack?.split("\n").slice(1, 4).join("\n") ?? ""}\n`);
    return 1;
  }
}
