"use client";
// The tRPC client for React: `const trpc = useTRPC(); useQuery(trpc.system.me.queryOptions())`.
// Client code takes its types from the router (`RouterOutputs["training"]["overview"]`), never
// from hand-written copies.
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
