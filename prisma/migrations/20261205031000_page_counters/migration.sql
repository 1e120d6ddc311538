-- Every admin and annotator page from counters (issue #19): the annotator's project list (items
-- available to them), the review page (gold items many annotators fail) and the annotator's
-- progress (judgments per 15 minutes), each kept by triggers; plus pw_recount_counters, which
-- recomputes every trigger-kept counter of a project after a bulk load written with triggers off.

-- 1. Items available to an annotator: an open comparison that is gold or below its project's
--    overlap (judgments + active leases), never assigned to them. StatCell keys (StatDelta rows,
--    as in 20261204173000): 'av' = such comparisons in the project; 'av|<userId>' = those among
--    them that the user has an assignment for (of any status). available = av − av|<userId>.
CREATE FUNCTION pw_available(p_status TEXT, p_gold BOOLEAN, p_filled INTEGER, p_overlap INTEGER)
RETURNS BOOLEAN IMMUTABLE LANGUAGE sql AS $fn$
  SELECT COALESCE(p_status = 'open' AND (p_gold OR p_filled < p_overlap), false)
$fn$;

-- Runs before the cascade that deletes a comparison's assignments (triggers fire in name order,
-- "Comparison_..." before "RI_ConstraintTrigger_..."), so a deleted comparison still lists them.
CREATE FUNCTION pw_comparison_available() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_old BOOLEAN := false;
  v_new BOOLEAN := false;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    SELECT pw_available(OLD.status::text, OLD."isGold", OLD."judgmentCount" + OLD."leaseCount", p.overlap)
    INTO v_old FROM "Project" p WHERE p.id = OLD."projectId";
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT pw_available(NEW.status::text, NEW."isGold", NEW."judgmentCount" + NEW."leaseCount", p.overlap)
    INTO v_new FROM "Project" p WHERE p.id = NEW."projectId";
  END IF;
  v_old := COALESCE(v_old, false);
  v_new := COALESCE(v_new, false);
  IF v_old = v_new AND (TG_OP <> 'UPDATE' OR OLD."projectId" = NEW."projectId") THEN RETURN NULL; END IF;
  IF v_old THEN
    INSERT INTO "StatDelta" ("projectId", "key", "n")
    SELECT OLD."projectId", 'av', -1
    UNION ALL
    SELECT OLD."projectId", 'av|' || a."userId", -1 FROM "Assignment" a WHERE a."comparisonId" = OLD.id;
  END IF;
  IF v_new THEN
    INSERT INTO "StatDelta" ("projectId", "key", "n")
    SELECT NEW."projectId", 'av', 1
    UNION ALL
    SELECT NEW."projectId", 'av|' || a."userId", 1 FROM "Assignment" a WHERE a."comparisonId" = NEW.id;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Comparison_available"
AFTER INSERT OR DELETE OR UPDATE OF status, "isGold", "judgmentCount", "leaseCount", "projectId" ON "Comparison"
FOR EACH ROW EXECUTE FUNCTION pw_comparison_available();

-- One assignment per (comparison, user). The comparison's row is read FOR SHARE, so a
-- concurrent change of its availability (which lists the assignments) is ordered with this one.
CREATE FUNCTION pw_assignment_available() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_on BOOLEAN;
  v_project TEXT;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."comparisonId" = NEW."comparisonId" AND OLD."userId" = NEW."userId" THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT pw_available(c.status::text, c."isGold", c."judgmentCount" + c."leaseCount", p.overlap), c."projectId"
    INTO v_on, v_project
    FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId" WHERE c.id = OLD."comparisonId" FOR SHARE OF c;
    IF v_on THEN PERFORM pw_stat_add(v_project, 'av|' || OLD."userId", -1); END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT pw_available(c.status::text, c."isGold", c."judgmentCount" + c."leaseCount", p.overlap), c."projectId"
    INTO v_on, v_project
    FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId" WHERE c.id = NEW."comparisonId" FOR SHARE OF c;
    IF v_on THEN PERFORM pw_stat_add(v_project, 'av|' || NEW."userId", 1); END IF;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Assignment_available"
AFTER INSERT OR DELETE OR UPDATE OF "comparisonId", "userId" ON "Assignment"
FOR EACH ROW EXECUTE FUNCTION pw_assignment_available();

-- Sets a project's 'av' counters to what its rows say (a delta of recount − current).
CREATE FUNCTION pw_available_recount(p_project TEXT) RETURNS void LANGUAGE sql AS $fn$
  INSERT INTO "StatDelta" ("projectId", "key", "n")
  SELECT p_project, key, sum(n) FROM (
    SELECT key, -n AS n FROM "StatCell" WHERE "projectId" = p_project AND (key = 'av' OR starts_with(key, 'av|'))
    UNION ALL
    SELECT key, -n FROM "StatDelta" WHERE "projectId" = p_project AND (key = 'av' OR starts_with(key, 'av|'))
    UNION ALL
    SELECT 'av', count(*) FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId"
    WHERE c."projectId" = p_project AND c.status = 'open' AND (c."isGold" OR c."judgmentCount" + c."leaseCount" < p.overlap)
    UNION ALL
    SELECT 'av|' || a."userId", count(*) FROM "Assignment" a
    JOIN "Comparison" c ON c.id = a."comparisonId" JOIN "Project" p ON p.id = c."projectId"
    WHERE c."projectId" = p_project AND c.status = 'open' AND (c."isGold" OR c."judgmentCount" + c."leaseCount" < p.overlap)
    GROUP BY a."userId"
  ) x GROUP BY key HAVING sum(n) <> 0;
$fn$;

-- A new overlap changes which comparisons are available: recount the project (an admin action).
CREATE FUNCTION pw_project_available() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pw_available_recount(NEW.id);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Project_available" AFTER UPDATE OF overlap ON "Project"
FOR EACH ROW WHEN (OLD.overlap IS DISTINCT FROM NEW.overlap) EXECUTE FUNCTION pw_project_available();

SELECT pw_available_recount(id) FROM "Project";

-- 2. Gold items: standing gold checks and failed ones per comparison, for the review page's list
--    of gold items that many annotators fail (perhaps the gold answer is wrong).
CREATE TABLE "GoldItemCheck" (
    "comparisonId" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "checks" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "GoldItemCheck_pkey" PRIMARY KEY ("comparisonId")
);
CREATE INDEX "GoldItemCheck_failing_idx" ON "GoldItemCheck"("projectId", "failed" DESC, "comparisonId")
WHERE "failed" >= 2;

CREATE FUNCTION pw_gold_item_check() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_old INTEGER := 0;
  v_new INTEGER := 0;
  v_old_f INTEGER := 0;
  v_new_f INTEGER := 0;
BEGIN
  IF TG_OP <> 'INSERT' AND OLD."isGoldCheck" AND OLD."supersededAt" IS NULL THEN
    v_old := 1;
    IF OLD."goldCorrect" = false THEN v_old_f := 1; END IF;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW."isGoldCheck" AND NEW."supersededAt" IS NULL THEN
    v_new := 1;
    IF NEW."goldCorrect" = false THEN v_new_f := 1; END IF;
  END IF;
  IF v_old = v_new AND v_old_f = v_new_f
     AND (TG_OP <> 'UPDATE' OR (OLD."comparisonId" = NEW."comparisonId" AND OLD."projectId" = NEW."projectId")) THEN
    RETURN NULL;
  END IF;
  IF v_old = 1 THEN
    UPDATE "GoldItemCheck" g SET "checks" = g."checks" - 1, "failed" = g."failed" - v_old_f
    WHERE g."comparisonId" = OLD."comparisonId";
  END IF;
  IF v_new = 1 THEN
    INSERT INTO "GoldItemCheck" AS g ("comparisonId", "projectId", "checks", "failed")
    VALUES (NEW."comparisonId", NEW."projectId", 1, v_new_f)
    ON CONFLICT ("comparisonId") DO UPDATE SET "checks" = g."checks" + 1, "failed" = g."failed" + EXCLUDED."failed";
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Judgment_gold_item"
AFTER INSERT OR DELETE OR UPDATE OF "supersededAt", "isGoldCheck", "goldCorrect", "comparisonId", "projectId" ON "Judgment"
FOR EACH ROW EXECUTE FUNCTION pw_gold_item_check();

INSERT INTO "GoldItemCheck" ("comparisonId", "projectId", "checks", "failed")
SELECT "comparisonId", min("projectId"), count(*)::int, (count(*) FILTER (WHERE "goldCorrect" = false))::int
FROM "Judgment" WHERE "isGoldCheck" AND "supersededAt" IS NULL GROUP BY 1;

-- 3. An annotator's human judgments (superseded ones too: the work was done) per project and
--    15-minute bucket (epoch seconds / 900), for their progress page in any whole-quarter-hour
--    time zone. One annotator's submits touch their own rows only.
CREATE TABLE "ActivityBucket" (
    "userId" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "bucket" INTEGER NOT NULL,
    "n" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "ActivityBucket_pkey" PRIMARY KEY ("userId", "projectId", "bucket")
);

CREATE FUNCTION pw_activity_bucket() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.source = NEW.source AND OLD."userId" IS NOT DISTINCT FROM NEW."userId"
     AND OLD."projectId" = NEW."projectId" AND OLD."createdAt" = NEW."createdAt" THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.source = 'human' AND OLD."userId" IS NOT NULL THEN
    UPDATE "ActivityBucket" b SET "n" = b."n" - 1
    WHERE b."userId" = OLD."userId" AND b."projectId" = OLD."projectId"
      AND b."bucket" = floor(extract(epoch FROM OLD."createdAt") / 900)::int;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.source = 'human' AND NEW."userId" IS NOT NULL THEN
    INSERT INTO "ActivityBucket" AS b ("userId", "projectId", "bucket", "n")
    VALUES (NEW."userId", NEW."projectId", floor(extract(epoch FROM NEW."createdAt") / 900)::int, 1)
    ON CONFLICT ("userId", "projectId", "bucket") DO UPDATE SET "n" = b."n" + 1;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Judgment_activity"
AFTER INSERT OR DELETE OR UPDATE OF source, "userId", "projectId", "createdAt" ON "Judgment"
FOR EACH ROW EXECUTE FUNCTION pw_activity_bucket();

INSERT INTO "ActivityBucket" ("userId", "projectId", "bucket", "n")
SELECT "userId", "projectId", floor(extract(epoch FROM "createdAt") / 900)::int, count(*)::int
FROM "Judgment" WHERE source = 'human' AND "userId" IS NOT NULL GROUP BY 1, 2, 3;

-- 4. After a bulk load written with triggers off (session_replication_role = replica, as the
--    scale benchmark's generator does): every trigger-kept counter of the project, from its rows.
--    Run it with no other writer in the project.
CREATE FUNCTION pw_recount_counters(p_project TEXT) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM "AnnotatorCounter" WHERE "projectId" = p_project;
  INSERT INTO "AnnotatorCounter" ("projectId", "userId", "served", "gold")
  SELECT a."projectId", a."userId", count(*)::int, (count(*) FILTER (WHERE c."isGold"))::int
  FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId"
  WHERE a."projectId" = p_project AND a.status IN ('active', 'submitted')
  GROUP BY 1, 2;

  DELETE FROM "VoterGold" WHERE "projectId" = p_project;
  INSERT INTO "VoterGold" ("projectId", "voter", "checks", "correct")
  SELECT "projectId", CASE WHEN "userId" IS NOT NULL THEN 'u:' || "userId" ELSE 'j:' || "judgeConfigId" END,
    count(*)::int, (count(*) FILTER (WHERE "goldCorrect"))::int
  FROM "Judgment"
  WHERE "projectId" = p_project AND "isGoldCheck" AND "supersededAt" IS NULL
    AND ("userId" IS NOT NULL OR "judgeConfigId" IS NOT NULL)
  GROUP BY 1, 2;

  DELETE FROM "GoldItemCheck" WHERE "projectId" = p_project;
  INSERT INTO "GoldItemCheck" ("comparisonId", "projectId", "checks", "failed")
  SELECT "comparisonId", p_project, count(*)::int, (count(*) FILTER (WHERE "goldCorrect" = false))::int
  FROM "Judgment" WHERE "projectId" = p_project AND "isGoldCheck" AND "supersededAt" IS NULL GROUP BY 1;

  DELETE FROM "ActivityBucket" WHERE "projectId" = p_project;
  INSERT INTO "ActivityBucket" ("userId", "projectId", "bucket", "n")
  SELECT "userId", "projectId", floor(extract(epoch FROM "createdAt") / 900)::int, count(*)::int
  FROM "Judgment" WHERE "projectId" = p_project AND source = 'human' AND "userId" IS NOT NULL GROUP BY 1, 2, 3;

  -- The trigger-kept StatCell keys (20261204173000 and 'av' above); the app-written ones (a|, u|,
  -- d|, t|, b|) are brought up to date through Comparison."rolledUp".
  PERFORM pw_stat_compact(p_project);
  DELETE FROM "StatCell" WHERE "projectId" = p_project
    AND (starts_with(key, 'cs|') OR starts_with(key, 'js|') OR starts_with(key, 'hu|') OR key IN ('jt', 'pp'));
  INSERT INTO "StatCell" ("projectId", "key", "n")
  SELECT p_project, 'cs|' || status::text, count(*) FROM "Comparison" WHERE "projectId" = p_project GROUP BY 2
  UNION ALL
  SELECT p_project, 'jt', count(*) FROM "Judgment" WHERE "projectId" = p_project
  UNION ALL
  SELECT p_project, 'js|' || source::text, count(*) FROM "Judgment"
  WHERE "projectId" = p_project AND "supersededAt" IS NULL GROUP BY 2
  UNION ALL
  SELECT p_project, 'hu|' || "userId", count(*) FROM "Judgment"
  WHERE "projectId" = p_project AND "supersededAt" IS NULL AND source = 'human' AND "userId" IS NOT NULL GROUP BY 2
  UNION ALL
  SELECT p_project, 'pp', count(*) FROM "PreferencePair" WHERE "projectId" = p_project AND active;
  PERFORM pw_available_recount(p_project);
END
$fn$;
