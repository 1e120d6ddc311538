-- A lease and a submit of constant cost at any project size (issue #19).
--
-- 1. Per-(project, user) counters of the items served and of the gold items among them, as the
--    lease's gold draw needs them: assignments that are active or submitted (skipped and expired
--    ones do not count). Kept by a trigger on Assignment, so every path that leases, submits,
--    skips, flags, expires, resumes or deletes an assignment keeps them exact.
CREATE TABLE "AnnotatorCounter" (
    "projectId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "served" INTEGER NOT NULL DEFAULT 0,
    "gold" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "AnnotatorCounter_pkey" PRIMARY KEY ("projectId", "userId")
);

INSERT INTO "AnnotatorCounter" ("projectId", "userId", "served", "gold")
SELECT a."projectId", a."userId", count(*)::int, (count(*) FILTER (WHERE c."isGold"))::int
FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId"
WHERE a.status IN ('active', 'submitted')
GROUP BY 1, 2;

CREATE FUNCTION pw_assignment_counter() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_old INTEGER := 0;
  v_new INTEGER := 0;
  v_gold BOOLEAN;
  v_row "Assignment"%ROWTYPE;
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.status IN ('active', 'submitted') THEN v_old := 1; END IF;
  IF TG_OP <> 'DELETE' AND NEW.status IN ('active', 'submitted') THEN v_new := 1; END IF;
  IF v_old = v_new THEN RETURN NULL; END IF;
  IF TG_OP = 'DELETE' THEN v_row := OLD; ELSE v_row := NEW; END IF;
  SELECT c."isGold" INTO v_gold FROM "Comparison" c WHERE c.id = v_row."comparisonId";
  INSERT INTO "AnnotatorCounter" AS k ("projectId", "userId", "served", "gold")
  VALUES (v_row."projectId", v_row."userId", v_new - v_old, CASE WHEN v_gold THEN v_new - v_old ELSE 0 END)
  ON CONFLICT ("projectId", "userId") DO UPDATE
    SET "served" = k."served" + EXCLUDED."served", "gold" = k."gold" + EXCLUDED."gold";
  RETURN NULL;
END
$fn$;

CREATE TRIGGER "Assignment_counter"
AFTER INSERT OR DELETE OR UPDATE OF status ON "Assignment"
FOR EACH ROW EXECUTE FUNCTION pw_assignment_counter();

-- 2. Per-voter gold counters for the weighted consensus rule (voterWeights in
--    server/data/judgments.ts): standing (not superseded) gold checks and how many were correct,
--    per project and voter ('u:' || userId for people, 'j:' || judgeConfigId for AI judges).
CREATE TABLE "VoterGold" (
    "projectId" TEXT NOT NULL,
    "voter" TEXT NOT NULL,
    "checks" INTEGER NOT NULL DEFAULT 0,
    "correct" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "VoterGold_pkey" PRIMARY KEY ("projectId", "voter")
);

INSERT INTO "VoterGold" ("projectId", "voter", "checks", "correct")
SELECT "projectId", CASE WHEN "userId" IS NOT NULL THEN 'u:' || "userId" ELSE 'j:' || "judgeConfigId" END,
  count(*)::int, (count(*) FILTER (WHERE "goldCorrect"))::int
FROM "Judgment"
WHERE "isGoldCheck" AND "supersededAt" IS NULL AND ("userId" IS NOT NULL OR "judgeConfigId" IS NOT NULL)
GROUP BY 1, 2;

CREATE FUNCTION pw_voter_gold() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_old INTEGER := 0;
  v_new INTEGER := 0;
  v_old_ok INTEGER := 0;
  v_new_ok INTEGER := 0;
  v_row "Judgment"%ROWTYPE;
BEGIN
  IF TG_OP <> 'INSERT' AND OLD."isGoldCheck" AND OLD."supersededAt" IS NULL
     AND (OLD."userId" IS NOT NULL OR OLD."judgeConfigId" IS NOT NULL) THEN
    v_old := 1;
    IF OLD."goldCorrect" THEN v_old_ok := 1; END IF;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW."isGoldCheck" AND NEW."supersededAt" IS NULL
     AND (NEW."userId" IS NOT NULL OR NEW."judgeConfigId" IS NOT NULL) THEN
    v_new := 1;
    IF NEW."goldCorrect" THEN v_new_ok := 1; END IF;
  END IF;
  IF v_old = v_new AND v_old_ok = v_new_ok AND (TG_OP <> 'UPDATE' OR (OLD."userId" IS NOT DISTINCT FROM NEW."userId"
     AND OLD."judgeConfigId" IS NOT DISTINCT FROM NEW."judgeConfigId" AND OLD."projectId" = NEW."projectId")) THEN
    RETURN NULL;
  END IF;
  IF v_old = 1 THEN
    UPDATE "VoterGold" g SET "checks" = g."checks" - 1, "correct" = g."correct" - v_old_ok
    WHERE g."projectId" = OLD."projectId"
      AND g."voter" = CASE WHEN OLD."userId" IS NOT NULL THEN 'u:' || OLD."userId" ELSE 'j:' || OLD."judgeConfigId" END;
  END IF;
  IF v_new = 1 THEN
    v_row := NEW;
    INSERT INTO "VoterGold" AS g ("projectId", "voter", "checks", "correct")
    VALUES (v_row."projectId", CASE WHEN v_row."userId" IS NOT NULL THEN 'u:' || v_row."userId" ELSE 'j:' || v_row."judgeConfigId" END, 1, v_new_ok)
    ON CONFLICT ("projectId", "voter") DO UPDATE
      SET "checks" = g."checks" + 1, "correct" = g."correct" + EXCLUDED."correct";
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER "Judgment_voter_gold"
AFTER INSERT OR DELETE OR UPDATE OF "supersededAt", "isGoldCheck", "goldCorrect", "userId", "judgeConfigId", "projectId" ON "Judgment"
FOR EACH ROW EXECUTE FUNCTION pw_voter_gold();

-- 3. Indexes.
-- The annotator queue in queue order, with the id tie-break, so the lease query reads exactly the
-- rows it returns (it used to sort a batch to break ties on id).
CREATE INDEX "Comparison_queue_idx" ON "Comparison"("projectId", "status", "isGold", "priority" DESC, "createdAt", "id");
DROP INDEX "Comparison_projectId_status_isGold_priority_createdAt_idx";
-- The review page: items waiting for a reviewer, by priority then age.
CREATE INDEX "Comparison_status_priority_createdAt_idx" ON "Comparison"("status", "priority" DESC, "createdAt");
-- An annotator's progress in one project (per day; recent times; recent gold results).
CREATE INDEX "Judgment_userId_projectId_createdAt_idx" ON "Judgment"("userId", "projectId", "createdAt");
CREATE INDEX "Judgment_gold_checks_idx" ON "Judgment"("userId", "projectId", "createdAt") WHERE "isGoldCheck";
-- Judgments of an AI judge (agreement pages, weighted consensus of judges).
CREATE INDEX "Judgment_judgeConfigId_idx" ON "Judgment"("judgeConfigId") WHERE "judgeConfigId" IS NOT NULL;
-- The active leases of a project (summaries, sweeps).
CREATE INDEX "Assignment_projectId_status_expiresAt_idx" ON "Assignment"("projectId", "status", "expiresAt");
