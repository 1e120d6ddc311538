"use client";
// The tRPC client for React: `const trpc = useTRPC(); useQuery(trpc.system.me.queryOptions())`.
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { AppRouter } from "@/server/trpc/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();
