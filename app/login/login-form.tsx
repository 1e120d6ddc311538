"use client";
import { useState } from "react";
import { signIn } from "next-auth/react";

const messages: Record<string, string> = {
  CredentialsSignin: "Wrong email or password, or the account is deactivated.",
  Deactivated: "This account is deactivated; ask an admin.",
  NoEmail: "Your sign-in provider gave no email address.",
  RateLimited: "Too many sign-in attempts; wait a few minutes and try again.",
};

export function LoginForm({
  error,
  callbackUrl,
  oauth,
}: {
  error?: string;
  callbackUrl: string;
  oauth: Array<{ id: string; name: string }>;
}) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState(error ? (messages[error] ?? "Sign-in failed; try again.") : "");
  return (
    <>
      <form
        className="flex flex-col gap-3"
        onSubmit={async (ev) => {
          ev.preventDefault();
          setBusy(true);
          setMessage("");
          const f = new FormData(ev.currentTarget);
          const res = await signIn("credentials", {
            email: String(f.get("email")),
            password: String(f.get("password")),
            redirect: false,
          });
          setBusy(false);
          if (res?.ok && !res.error) window.location.assign(callbackUrl.startsWith("/") ? callbackUrl : "/");
          else setMessage(messages[res?.error ?? ""] ?? messages.CredentialsSignin!);
        }}
      >
        <label className="flex flex-col gap-1 text-sm">
          Email
          <input
            name="email"
            type="email"
            required
            autoComplete="username"
            autoFocus
            className="rounded border border-slate-300 px-2 py-1.5"
            data-testid="login-email"
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Password
          <input
            name="password"
            type="password"
            required
            autoComplete="current-password"
            className="rounded border border-slate-300 px-2 py-1.5"
            data-testid="login-password"
          />
        </label>
        {message && (
          <p role="alert" className="text-sm text-red-700" data-testid="login-error">
            {message}
          </p>
        )}
        <button
          type="submit"
          disabled={busy}
          className="rounded bg-slate-900 px-3 py-2 text-white disabled:opacity-50"
          data-testid="login-submit"
        >
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {oauth.map((p) => (
        <button
          key={p.id}
          type="button"
          onClick={() => signIn(p.id, { callbackUrl })}
          className="mt-3 w-full rounded border border-slate-300 px-3 py-2"
        >
          Sign in with {p.name}
        </button>
      ))}
    </>
  );
}
