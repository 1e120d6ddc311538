// pairwise tokens create|list|revoke
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { createApiToken, revokeApiToken, SCOPES, type Scope } from "@/server/auth/tokens";
import { num, println, str, table, UsageError, type Command } from "../command";

export const tokensCommand: Command = {
  name: "tokens",
  summary: "Create, list and revoke API tokens",
  help: `Usage:
  pairwise tokens create --user <email> [--name <name>] [--scopes read,write,admin] [--expires-days n] [--judge <judge id>]
  pairwise tokens list [--user <email>]
  pairwise tokens revoke <token-id>

The token is printed once, on creation; only its hash is stored. Use it as
  Authorization: Bearer <token>
Scopes: read (GET), write (imports, judgments), admin (projects); admin implies write implies read.
--judge issues the token for an AI judge: it records only "ai" judgments of that judge (REST
POST /comparisons/{id}/judgments with source "ai"); no other token may.`,
  options: {
    user: { type: "string", short: "u" },
    name: { type: "string" },
    scopes: { type: "string" },
    "expires-days": { type: "string" },
    judge: { type: "string" },
    json: { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const [sub, arg] = positionals;
    return withDatabase(async () => {
      const user = async () => {
        const email = str(values.user);
        if (!email) throw new UsageError("--user <email> is required");
        const u = await db().user.findUnique({ where: { email: email.trim().toLowerCase() } });
        if (!u)
          throw new DomainError(
            "not_found",
            `No user with email ${email}; create one with \`pairwise users create\`.`,
          );
        return u;
      };
      if (sub === "create") {
        const u = await user();
        const scopes = (str(values.scopes) ?? "read")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
        if (bad.length) throw new UsageError(`unknown scope ${bad.join(", ")}: use ${SCOPES.join(", ")}`);
        const days = num(values["expires-days"], "expires-days", { min: 1, max: 3650 });
        const { token, record } = await createApiToken({
          userId: u.id,
          name: str(values.name) ?? `cli ${new Date().toISOString().slice(0, 10)}`,
          scopes: scopes as Scope[],
          expiresAt: days ? new Date(Date.now() + days * 86_400_000) : undefined,
          judgeConfigId: str(values.judge),
          actorId: null,
        });
        if (values.json)
          println(
            io.stdout,
            JSON.stringify({ token, id: record.id, scopes: record.scopes, expiresAt: record.expiresAt }),
          );
        else {
          println(io.stdout, token);
          io.stderr.write(
            `token ${record.id} for ${u.email} (${record.scopes.join(", ")}): shown once, store it now\n`,
          );
        }
        return 0;
      }
      if (sub === "list" || sub === undefined) {
        const where = values.user ? { userId: (await user()).id } : {};
        const tokens = await db().apiToken.findMany({
          where,
          include: { user: { select: { email: true } } },
          orderBy: { createdAt: "asc" },
        });
        const state = (t: { revokedAt: Date | null; expiresAt: Date | null }) =>
          t.revokedAt ? "revoked" : t.expiresAt && t.expiresAt < new Date() ? "expired" : "active";
        if (values.json)
          println(
            io.stdout,
            JSON.stringify(
              tokens.map(({ tokenHash: _h, ...t }) => ({ ...t, state: state(t) })),
              null,
              2,
            ),
          );
        else
          println(
            io.stdout,
            table([
              ["ID", "USER", "NAME", "PREFIX", "SCOPES", "STATE", "LAST USED"],
              ...tokens.map((t) => [
                t.id,
                t.user.email,
                t.name,
                `pw_${t.prefix}_…`,
                t.scopes.join(","),
                state(t),
                t.lastUsedAt?.toISOString() ?? "never",
              ]),
            ]),
          );
        return 0;
      }
      if (sub === "revoke") {
        if (!arg) throw new UsageError("give the token id (see `pairwise tokens list`)");
        await revokeApiToken(arg, undefined, { actorId: null });
        println(io.stdout, `revoked token ${arg}`);
        return 0;
      }
      throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: use create, list or revoke`);
    });
  },
};
