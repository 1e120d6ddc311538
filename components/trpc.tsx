"use client";
// The tRPC client for React: `const trpc = useTRPC(); useQuery(trpc.system.me.queryOptions())`.
// Components type their props with RouterOutputs / RouterInputs (inferred from the routers), never
// with hand-copied shapes: `type Assignment = RouterOutputs["annotation"]["next"]`.
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
