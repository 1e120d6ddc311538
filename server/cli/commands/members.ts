// pairwise members list|add|remove
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { ROLES, type Role } from "@/server/auth/roles";
import { listMembers, removeMember, setMember } from "@/server/annotation/members";
import { println, str, table, UsageError, type Command } from "../command";

export const membersCommand: Command = {
  name: "members",
  summary: "Who may annotate, review or administer each project",
  help: `Usage:
  pairwise members list [--project <id-or-slug>] [--json]
  pairwise members add --project <id-or-slug> --user <email> [--role annotator|reviewer]
  pairwise members remove --project <id-or-slug> --user <email>

People work only on projects they are members of, with the lower of their account role and
their project role there (the role defaults to their account role). Admins administer every
project and need no membership. Removing someone ends their leases in the project at once.`,
  options: {
    project: { type: "string", short: "p" },
    user: { type: "string", short: "u" },
    role: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [sub] = positionals;
    const project = str(values.project);
    const user = str(values.user);
    const role = str(values.role);
    if (role && !(ROLES as readonly string[]).includes(role))
      throw new UsageError(`the role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(role)}`);
    return withDatabase(async () => {
      switch (sub) {
        case "list":
        case undefined: {
          const rows = await listMembers(db(), { project });
          if (values.json) println(io.stdout, JSON.stringify(rows, null, 2));
          else
            println(
              io.stdout,
              table([
                ["PROJECT", "EMAIL", "PROJECT ROLE", "ACCOUNT ROLE", "EFFECTIVE"],
                ...rows.map((r) => [r.projectSlug, r.email, r.role, r.accountRole, r.effectiveRole]),
              ]),
            );
          return 0;
        }
        case "add": {
          if (!project || !user) throw new UsageError("--project and --user are required");
          const m = await setMember(db(), null, { project, user, role: role as Role | undefined });
          println(io.stdout, `${user} is ${m.role} on ${project}`);
          return 0;
        }
        case "remove": {
          if (!project || !user) throw new UsageError("--project and --user are required");
          await removeMember(db(), null, { project, user });
          println(io.stdout, `${user} is no longer a member of ${project}`);
          return 0;
        }
        default:
          throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use list, add or remove`);
      }
    });
  },
};
