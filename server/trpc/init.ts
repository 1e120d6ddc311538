// tRPC procedures named for who may call them (STYLE.md #3). Context carries the user, from a
// next-auth session cookie or an API token (`Authorization: Bearer`). DomainErrors are mapped once.
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import { isDomainError, type DomainErrorCode } from "../errors";
import { hasRole, type Role, type SessionUser } from "../auth/roles";
import { authenticateBearer, hasScope, type Scope } from "../auth/tokens";
import { clientIp } from "../auth/rate-limit";

export interface Context {
  user: SessionUser | null;
  /** Set when the caller used an API token: what it may do. */
  scopes: Scope[] | null;
  /** The client's address (abuse limits); absent for server-side callers. */
  ip?: string;
}

export async function createContext(opts: {
  req: Request;
  getSession: () => Promise<SessionUser | null>;
}): Promise<Context> {
  const ip = clientIp(opts.req.headers);
  let bearer;
  try {
    bearer = await authenticateBearer(opts.req);
  } catch (e) {
    // tRPC answers 500 for anything but a TRPCError thrown while making the context.
    if (isDomainError(e) && e.code === "rate_limited")
      throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: e.message, cause: e });
    throw e;
  }
  if (bearer) return { user: bearer.user, scopes: bearer.scopes, ip };
  return { user: await opts.getSession(), scopes: null, ip };
}

const trpcCode: Record<DomainErrorCode, TRPCError["code"]> = {
  not_found: "NOT_FOUND",
  forbidden: "FORBIDDEN",
  unauthorized: "UNAUTHORIZED",
  bad_request: "BAD_REQUEST",
  conflict: "CONFLICT",
  gone: "PRECONDITION_FAILED",
  rate_limited: "TOO_MANY_REQUESTS",
  unavailable: "SERVICE_UNAVAILABLE",
  internal: "INTERNAL_SERVER_ERROR",
};

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const domain = isDomainError(error.cause) ? error.cause : null;
    return {
      ...shape,
      // Never send a stack or a raw database message to the browser.
      message:
        error.code === "INTERNAL_SERVER_ERROR" && !domain
          ? "Something went wrong on the server; it has been logged. Try again."
          : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        domainCode: domain?.code ?? null,
        zodError:
          error.cause instanceof ZodError
            ? error.cause.issues.map((i) => ({ path: i.path.join("."), message: i.message }))
            : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isDomainError(result.error.cause)) {
    const cause = result.error.cause;
    throw new TRPCError({ code: trpcCode[cause.code], message: cause.message, cause });
  }
  if (!result.ok && result.error.code === "INTERNAL_SERVER_ERROR")
    console.error(result.error.cause ?? result.error);
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

function roleProcedure(role: Role) {
  return publicProcedure.use(({ ctx, next, type }) => {
    if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first." });
    if (!hasRole(ctx.user, role))
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `This needs the ${role} role; ask an admin for access.`,
      });
    if (ctx.scopes) {
      const needed: Scope = role === "admin" ? "admin" : type === "mutation" ? "write" : "read";
      if (!hasScope({ scopes: ctx.scopes }, needed))
        throw new TRPCError({ code: "FORBIDDEN", message: `This API token lacks the "${needed}" scope.` });
    }
    return next({ ctx: { ...ctx, user: ctx.user } });
  });
}

/** Any signed-in user (annotators and up). */
export const protectedProcedure = roleProcedure("annotator");
export const reviewerProcedure = roleProcedure("reviewer");
export const adminProcedure = roleProcedure("admin");
