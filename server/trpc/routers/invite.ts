// The invite link's page: public (the person has no account yet); the token is the credential.
import { z } from "zod";
import { publicProcedure, router } from "../init";
import { db } from "../../db/client";
import { acceptInvite, inviteInfo } from "../../annotation/people";

const Token = z.string().min(10).max(200);

export const inviteRouter = router({
  info: publicProcedure.input(z.object({ token: Token })).query(({ input }) => inviteInfo(db(), input.token)),
  accept: publicProcedure
    .input(
      z.object({
        token: Token,
        name: z.string().max(200),
        email: z.string().max(320).optional(),
        password: z.string().max(500),
      }),
    )
    .mutation(({ input }) => acceptInvite(db(), input)),
});
