import { redirect } from "next/navigation";
import { getSessionUser, safeCallbackPath } from "@/server/auth/session";
import { env } from "@/server/env";
import { LoginForm } from "./login-form";

export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<{ error?: string; callbackUrl?: string }>;
}) {
  const sp = await searchParams;
  const callbackUrl = safeCallbackPath(sp.callbackUrl);
  if (await getSessionUser()) redirect(callbackUrl);
  const e = env();
  const oauth = [
    ...(e.GITHUB_ID ? [{ id: "github", name: "GitHub" }] : []),
    ...(e.OIDC_CLIENT_ID ? [{ id: "oidc", name: e.OIDC_NAME }] : []),
  ];
  return (
    <div className="mx-auto mt-12 max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-4 text-xl font-semibold">Sign in to Pairwise</h1>
      <LoginForm error={sp.error} callbackUrl={callbackUrl} oauth={oauth} />
    </div>
  );
}
