// next-auth 4: email + password (Credentials) with JWT sessions, plus optional GitHub and OIDC
// providers switched on by configuration. Roles are read from the database on every request,
// so a role change or a deactivation takes effect at once.
import "server-only";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import GitHubProvider from "next-auth/providers/github";
import type { Provider } from "next-auth/providers/index";
import { env } from "../env";
import { db } from "../db/client";
import { checkCredentials } from "./users";

function providers(): Provider[] {
  const e = env();
  const list: Provider[] = [
    CredentialsProvider({
      name: "Email and password",
      credentials: {
        email: { label: "Email", type: "email" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials) {
        if (!credentials?.email || !credentials.password) return null;
        return checkCredentials(credentials.email, credentials.password);
      },
    }),
  ];
  if (e.GITHUB_ID && e.GITHUB_SECRET)
    list.push(GitHubProvider({ clientId: e.GITHUB_ID, clientSecret: e.GITHUB_SECRET }));
  if (e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET) {
    list.push({
      id: "oidc",
      name: e.OIDC_NAME,
      type: "oauth",
      wellKnown: `${e.OIDC_ISSUER.replace(/\/$/, "")}/.well-known/openid-configuration`,
      clientId: e.OIDC_CLIENT_ID,
      clientSecret: e.OIDC_CLIENT_SECRET,
      authorization: { params: { scope: "openid email profile" } },
      idToken: true,
      checks: ["pkce", "state"],
      profile(p: { sub: string; email?: string; name?: string }) {
        return { id: p.sub, email: p.email ?? null, name: p.name ?? p.email ?? p.sub };
      },
    });
  }
  return list;
}

export function authOptions(): NextAuthOptions {
  return {
    secret: env().nextAuthSecret,
    session: { strategy: "jwt", maxAge: 7 * 24 * 3600 },
    pages: { signIn: "/login" },
    providers: providers(),
    callbacks: {
      async signIn({ user, account }) {
        if (!account || account.type === "credentials") return true;
        // OAuth/OIDC: the email must be verified by the provider; first sign-in creates the account.
        const email = user.email?.toLowerCase();
        if (!email) return "/login?error=NoEmail";
        const existing = await db().user.findUnique({ where: { email } });
        if (existing) return existing.active ? true : "/login?error=Deactivated";
        await db().user.create({
          data: { email, name: user.name ?? email, role: env().PAIRWISE_OAUTH_DEFAULT_ROLE },
        });
        return true;
      },
      async jwt({ token, user, account }) {
        if (user) {
          const email = user.email?.toLowerCase();
          const row =
            account?.type === "credentials"
              ? { id: user.id }
              : email
                ? await db().user.findUnique({ where: { email }, select: { id: true } })
                : null;
          if (row) token.uid = row.id;
        }
        return token;
      },
      async session({ session, token }) {
        // Only the id travels in the cookie; role and name are looked up fresh (see server/auth/session.ts).
        return { ...session, uid: token.uid };
      },
    },
  };
}
