// pairwise users create|list|set-role|deactivate|activate
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { createUser, setUserActive, setUserRole } from "@/server/auth/users";
import { ROLES, type Role } from "@/server/auth/roles";
import { MIN_PASSWORD_LENGTH } from "@/server/auth/password";
import { println, str, table, UsageError, type Command, type Io } from "../command";

function role(v: string | undefined): Role {
  if (!v || !(ROLES as readonly string[]).includes(v))
    throw new UsageError(`the role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(v ?? "")}`);
  return v as Role;
}

async function readStdin(io: Io): Promise<string> {
  let s = "";
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) s += chunk.toString();
  return s.replace(/\r?\n$/, "");
}

async function userByEmail(email: string) {
  const u = await db().user.findUnique({ where: { email: email.trim().toLowerCase() } });
  if (!u)
    throw new DomainError(
      "not_found",
      `No user with email ${email}; list them with \`pairwise users list\`.`,
    );
  return u;
}

export const usersCommand: Command = {
  name: "users",
  summary: "Create users, set roles, list and deactivate them",
  help: `Usage:
  pairwise users create --email <email> --name <name> [--role annotator|reviewer|admin] [--password-stdin]
  pairwise users list
  pairwise users set-role <email> <annotator|reviewer|admin>
  pairwise users deactivate <email>
  pairwise users activate <email>

A password (at least ${MIN_PASSWORD_LENGTH} characters) is read from standard input with --password-stdin,
so it never shows in the shell history:  echo "$PW" | pairwise users create ... --password-stdin
Without one the user signs in through OAuth/OIDC or an invite.`,
  options: {
    email: { type: "string" },
    name: { type: "string" },
    role: { type: "string" },
    "password-stdin": { type: "boolean" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [sub, a, b] = positionals;
    let password: string | undefined;
    if (sub === "create" && values["password-stdin"]) {
      password = await readStdin(io);
      if (password.length < MIN_PASSWORD_LENGTH)
        throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    }
    return withDatabase(async () => {
      switch (sub) {
        case "create": {
          const email = str(values.email);
          if (!email) throw new UsageError("--email is required");
          const u = await createUser({
            email,
            name: str(values.name) ?? email.split("@")[0]!,
            role: role(str(values.role) ?? "annotator"),
            password,
          });
          println(
            io.stdout,
            `created ${u.role} ${u.email} (${u.id})${password ? "" : " without a password"}`,
          );
          return 0;
        }
        case "list":
        case undefined: {
          const users = await db().user.findMany({ orderBy: { createdAt: "asc" } });
          if (values.json) println(io.stdout, JSON.stringify(users, null, 2));
          else
            println(
              io.stdout,
              table([
                ["EMAIL", "ROLE", "ACTIVE", "NAME", "ID"],
                ...users.map((u) => [u.email, u.role, u.active ? "yes" : "no", u.name, u.id]),
              ]),
            );
          return 0;
        }
        case "set-role": {
          if (!a) throw new UsageError("give the user's email and the role");
          const u = await userByEmail(a);
          await setUserRole(u.id, role(b));
          println(io.stdout, `${u.email} is now ${b}`);
          return 0;
        }
        case "deactivate":
        case "activate": {
          if (!a) throw new UsageError("give the user's email");
          const u = await userByEmail(a);
          await setUserActive(u.id, sub === "activate");
          if (sub === "deactivate")
            await db().apiToken.updateMany({
              where: { userId: u.id, revokedAt: null },
              data: { revokedAt: new Date() },
            });
          println(
            io.stdout,
            sub === "activate"
              ? `${u.email} can sign in again`
              : `${u.email} is deactivated (signed out at the next request; API tokens revoked)`,
          );
          return 0;
        }
        default:
          throw new UsageError(
            `unknown subcommand ${JSON.stringify(sub)}: use create, list, set-role, deactivate or activate`,
          );
      }
    });
  },
};
