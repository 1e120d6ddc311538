// GET/POST /api/auth/* - next-auth sign-in, callbacks, session
import NextAuth from "next-auth";
import { authOptions } from "@/server/auth/options";
import { clientIp, hit } from "@/server/auth/rate-limit";

type Ctx = { params: Promise<{ nextauth: string[] }> };

const nextAuth = (req: Request, ctx: Ctx) => NextAuth(req as never, ctx as never, authOptions());

/**
 * Password sign-in counts against two limits (server/auth/rate-limit.ts): per address and per
 * account. Over either, a 429 with Retry-After, in next-auth's own reply shape ({url} with
 * ?error=RateLimited) so the login form can say why.
 */
async function credentialsLimit(req: Request): Promise<Response | null> {
  let email = "";
  try {
    const form = await req.clone().formData();
    email = String(form.get("email") ?? "")
      .trim()
      .toLowerCase();
  } catch {
    // not a form: next-auth refuses it on its own
  }
  const checks = [await hit("signin.ip", clientIp(req.headers))];
  if (email) checks.push(await hit("signin.account", email));
  const waits = checks.flatMap((c) => (c.ok ? [] : [c.retryAfterSeconds]));
  if (!waits.length) return null;
  const wait = Math.max(...waits);
  const url = new URL("/login", req.url);
  url.searchParams.set("error", "RateLimited");
  url.searchParams.set("retryAfter", String(wait));
  return Response.json(
    {
      url: url.toString(),
      error: {
        code: "rate_limited",
        message: `Too many sign-in attempts; try again in ${Math.ceil(wait / 60)} min.`,
      },
    },
    { status: 429, headers: { "retry-after": String(wait), "cache-control": "no-store" } },
  );
}

async function POST(req: Request, ctx: Ctx) {
  const { nextauth } = await ctx.params;
  if (nextauth[0] === "callback" && nextauth[1] === "credentials") {
    const limited = await credentialsLimit(req);
    if (limited) return limited;
  }
  return nextAuth(req, ctx);
}
export { nextAuth as GET, POST };
