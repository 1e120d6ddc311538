// Reads our error shape (server/trpc/init.ts errorFormatter) off a tRPC client error.
export function domainCode(e: unknown): string | null {
  const data = (e as { data?: { domainCode?: string | null } } | null)?.data;
  return data?.domainCode ?? null;
}

export function errorMessage(e: unknown): string {
  if (
    e &&
    typeof e === "object" &&
    "message" in e &&
    typeof (e as { message: unknown }).message === "string"
  ) {
    return (e as { message: string }).message;
  }
  return "Something went wrong; try again.";
}

/** Network failures (no response) are worth retrying with the same idempotency key. */
export function isNetworkError(e: unknown): boolean {
  const data = (e as { data?: unknown } | null)?.data;
  return !data;
}
