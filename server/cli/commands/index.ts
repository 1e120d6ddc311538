// The command table: one line per command. Add a command by writing its file here and one line below.
import type { Command } from "../command";
import { exportCommand } from "./export";
import { exportModelCommand } from "./export-model";
import { importCommand } from "./import";
import { membersCommand } from "./members";
import { migrateCommand } from "./migrate";
import { projectsCommand } from "./projects";
import { serveCommand } from "./serve";
import { snapshotCommand } from "./snapshot";
import { startCommand } from "./start";
import { tokensCommand } from "./tokens";
import { trainCommand } from "./train";
import { trainerCommand } from "./trainer";
import { usersCommand } from "./users";

export const commands: Command[] = [
  startCommand,
  migrateCommand,
  projectsCommand,
  importCommand,
  exportCommand,
  exportModelCommand,
  snapshotCommand,
  usersCommand,
  membersCommand,
  tokensCommand,
  serveCommand,
  trainCommand,
  trainerCommand,
];
