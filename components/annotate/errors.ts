// Reads our error shape (server/trpc/init.ts errorFormatter) off a tRPC client error.
export function domainCode(e: unknown): string | null {
  const data = (e as { data?: { domainCode?: string | null } } | null)?.data;
  return data?.domainCode ?? null;
}

/** "labelSchema.axes.0.key" → "Label schema › axes › 1 › key": a field path a person can read. */
function fieldName(path: string): string {
  if (!path) return "";
  return path
    .split(".")
    .map((part, i) => {
      if (/^\d+$/.test(part)) return String(Number(part) + 1);
      const words = part.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
      return i === 0 ? words.charAt(0).toUpperCase() + words.slice(1) : words;
    })
    .join(" › ");
}

/**
 * The message to show for a tRPC error. Input validation errors arrive as a list of field
 * issues (server/trpc/init.ts errorFormatter), never as the raw JSON tRPC puts in `message`.
 */
export function errorMessage(e: unknown): string {
  const zodIssues = (e as { data?: { zodError?: Array<{ path: string; message: string }> | null } } | null)
    ?.data?.zodError;
  if (zodIssues?.length)
    return zodIssues
      .map((i) => (i.path ? `${fieldName(i.path)}: ${i.message}` : i.message))
      .join(". ")
      .concat(".")
      .replace(/\.\.$/, ".");
  if (
    e &&
    typeof e === "object" &&
    "message" in e &&
    typeof (e as { message: unknown }).message === "string"
  ) {
    const message = (e as { message: string }).message;
    return message.trimStart().startsWith("[") ? (issuesFromJson(message) ?? message) : message;
  }
  return "Something went wrong; try again.";
}

/** Network failures (no response) are worth retrying with the same idempotency key. */
export function isNetworkError(e: unknown): boolean {
  const data = (e as { data?: unknown } | null)?.data;
  return !data;
}

/** A message that is a JSON list of zod issues (tRPC's default for bad input), made readable. */
function issuesFromJson(message: string): string | null {
  try {
    const issues = JSON.parse(message) as unknown;
    if (!Array.isArray(issues) || !issues.length) return null;
    return issues
      .map((i: { path?: Array<string | number>; message?: string }) =>
        i.path?.length
          ? `${fieldName(i.path.join("."))}: ${i.message ?? "invalid"}`
          : (i.message ?? "invalid"),
      )
      .join(". ");
  } catch {
    return null;
  }
}
