// GET/POST /api/trpc/* - the UI's API (session cookie or API token)
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/trpc/root";
import { createContext } from "@/server/trpc/init";
import { getSessionUser } from "@/server/auth/session";

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createContext({ req, getSession: getSessionUser }),
  });
export { handler as GET, handler as POST };
