"use client";
import { useState } from "react";
import { signIn } from "next-auth/react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";
import { errorMessage } from "@/components/annotate/errors";

export function AcceptInvite({ token, email, role }: { token: string; email: string | null; role: string }) {
  const trpc = useTRPC();
  const accept = useMutation(trpc.invite.accept.mutationOptions());
  const [message, setMessage] = useState<string | null>(null);
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={async (e) => {
        e.preventDefault();
        setMessage(null);
        const f = new FormData(e.currentTarget);
        const password = String(f.get("password"));
        if (password !== String(f.get("password2"))) return setMessage("The two passwords differ.");
        try {
          const u = await accept.mutateAsync({
            token,
            name: String(f.get("name")),
            email: email ?? String(f.get("email")),
            password,
          });
          const res = await signIn("credentials", { email: u.email, password, redirect: false });
          window.location.assign(res?.ok ? "/" : "/login");
        } catch (err) {
          setMessage(errorMessage(err));
        }
      }}
    >
      <p className="text-sm text-slate-600">
        You are invited as <strong>{role}</strong>
        {email ? (
          <>
            {" "}
            with <strong>{email}</strong>
          </>
        ) : null}
        .
      </p>
      <label className="flex flex-col gap-1 text-sm">
        Your name
        <input
          name="name"
          required
          autoComplete="name"
          className="rounded border border-slate-300 px-2 py-1.5"
          data-testid="invite-name"
        />
      </label>
      {!email && (
        <label className="flex flex-col gap-1 text-sm">
          Email
          <input
            name="email"
            type="email"
            required
            autoComplete="username"
            className="rounded border border-slate-300 px-2 py-1.5"
            data-testid="invite-accept-email"
          />
        </label>
      )}
      <label className="flex flex-col gap-1 text-sm">
        Password (8 characters or more)
        <input
          name="password"
          type="password"
          required
          minLength={8}
          autoComplete="new-password"
          className="rounded border border-slate-300 px-2 py-1.5"
          data-testid="invite-password"
        />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Password again
        <input
          name="password2"
          type="password"
          required
          minLength={8}
          autoComplete="new-password"
          className="rounded border border-slate-300 px-2 py-1.5"
          data-testid="invite-password2"
        />
      </label>
      {message && (
        <p role="alert" className="text-sm text-red-700">
          {message}
        </p>
      )}
      <button
        type="submit"
        disabled={accept.isPending}
        className="rounded bg-slate-900 px-3 py-2 text-white disabled:opacity-50"
        data-testid="invite-accept"
      >
        Create my account
      </button>
    </form>
  );
}
