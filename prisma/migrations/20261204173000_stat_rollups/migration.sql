-- Dashboards from rollups, not from every row (issue #19).
--
-- A project's counters as key -> n. Writers never update a counter row: each adds a row to
-- StatDelta (so concurrent transactions never wait on one another, and cannot deadlock on
-- counters); pw_stat_compact folds a project's deltas into StatCell (readers call it first; a
-- figure is StatCell's n plus whatever deltas arrived since).
-- Keys (see server/annotation/rollups.ts for the ones written from the app):
--   cs|<status>   comparisons by status                        (trigger on Comparison)
--   js|<source>   standing judgments by source                 (trigger on Judgment)
--   jt            all judgments, superseded ones included      (trigger on Judgment)
--   hu|<userId>   standing human judgments of a person         (trigger on Judgment)
--   pp            active preference pairs                      (trigger on PreferencePair)
--   a|... u|... d|... b|...  per-annotator figures, agreement units, throughput, battles:
--                 written by the judgment transaction from each comparison's standing judgments.
CREATE TABLE "StatCell" (
    "projectId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "n" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "StatCell_pkey" PRIMARY KEY ("projectId", "key")
);

CREATE TABLE "StatDelta" (
    "projectId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "n" BIGINT NOT NULL
);
CREATE INDEX "StatDelta_projectId_key_idx" ON "StatDelta"("projectId", "key");

CREATE FUNCTION pw_stat_add(p_project TEXT, p_key TEXT, p_n BIGINT) RETURNS void LANGUAGE sql AS $fn$
  INSERT INTO "StatDelta" ("projectId", "key", "n") VALUES (p_project, p_key, p_n);
$fn$;

-- Folds a project's deltas into its cells. Rows deleted here are claimed by this transaction, so
-- two compactions at once each fold different rows.
CREATE FUNCTION pw_stat_compact(p_project TEXT) RETURNS void LANGUAGE sql AS $fn$
  WITH d AS (DELETE FROM "StatDelta" WHERE "projectId" = p_project RETURNING "key", "n")
  INSERT INTO "StatCell" AS s ("projectId", "key", "n")
  SELECT p_project, "key", sum("n") FROM d GROUP BY "key" ORDER BY "key"
  ON CONFLICT ("projectId", "key") DO UPDATE SET "n" = s."n" + EXCLUDED."n";
$fn$;

CREATE FUNCTION pw_comparison_stats() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD."projectId" = NEW."projectId" THEN RETURN NULL; END IF;
  IF TG_OP <> 'INSERT' THEN PERFORM pw_stat_add(OLD."projectId", 'cs|' || OLD.status::text, -1); END IF;
  IF TG_OP <> 'DELETE' THEN PERFORM pw_stat_add(NEW."projectId", 'cs|' || NEW.status::text, 1); END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Comparison_stats" AFTER INSERT OR DELETE OR UPDATE OF status, "projectId" ON "Comparison"
FOR EACH ROW EXECUTE FUNCTION pw_comparison_stats();

CREATE FUNCTION pw_judgment_stats() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN PERFORM pw_stat_add(NEW."projectId", 'jt', 1); END IF;
  IF TG_OP = 'DELETE' THEN PERFORM pw_stat_add(OLD."projectId", 'jt', -1); END IF;
  IF TG_OP = 'UPDATE' AND (OLD."supersededAt" IS NULL) = (NEW."supersededAt" IS NULL) AND OLD.source = NEW.source
     AND OLD."userId" IS NOT DISTINCT FROM NEW."userId" AND OLD."projectId" = NEW."projectId" THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD."supersededAt" IS NULL THEN
    PERFORM pw_stat_add(OLD."projectId", 'js|' || OLD.source::text, -1);
    IF OLD.source = 'human' AND OLD."userId" IS NOT NULL THEN PERFORM pw_stat_add(OLD."projectId", 'hu|' || OLD."userId", -1); END IF;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW."supersededAt" IS NULL THEN
    PERFORM pw_stat_add(NEW."projectId", 'js|' || NEW.source::text, 1);
    IF NEW.source = 'human' AND NEW."userId" IS NOT NULL THEN PERFORM pw_stat_add(NEW."projectId", 'hu|' || NEW."userId", 1); END IF;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "Judgment_stats" AFTER INSERT OR DELETE OR UPDATE OF "supersededAt", source, "userId", "projectId" ON "Judgment"
FOR EACH ROW EXECUTE FUNCTION pw_judgment_stats();

CREATE FUNCTION pw_pair_stats() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.active = NEW.active AND OLD."projectId" = NEW."projectId" THEN RETURN NULL; END IF;
  IF TG_OP <> 'INSERT' AND OLD.active THEN PERFORM pw_stat_add(OLD."projectId", 'pp', -1); END IF;
  IF TG_OP <> 'DELETE' AND NEW.active THEN PERFORM pw_stat_add(NEW."projectId", 'pp', 1); END IF;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER "PreferencePair_stats" AFTER INSERT OR DELETE OR UPDATE OF active, "projectId" ON "PreferencePair"
FOR EACH ROW EXECUTE FUNCTION pw_pair_stats();

INSERT INTO "StatCell" ("projectId", "key", "n")
SELECT "projectId", 'cs|' || status::text, count(*) FROM "Comparison" GROUP BY 1, 2
UNION ALL
SELECT "projectId", 'jt', count(*) FROM "Judgment" GROUP BY 1
UNION ALL
SELECT "projectId", 'js|' || source::text, count(*) FROM "Judgment" WHERE "supersededAt" IS NULL GROUP BY 1, 2
UNION ALL
SELECT "projectId", 'hu|' || "userId", count(*) FROM "Judgment"
WHERE "supersededAt" IS NULL AND source = 'human' AND "userId" IS NOT NULL GROUP BY 1, 2
UNION ALL
SELECT "projectId", 'pp', count(*) FROM "PreferencePair" WHERE active GROUP BY 1;

-- The app-written rollups: a comparison's contribution to the a|, u|, d| and b| keys is a
-- function of its standing judgments. "rolledIds" lists the judgments its contribution in the
-- counters was computed from (judgments are never edited, so it can be recomputed); "rolledUp"
-- false means that list may be stale (rows that existed before this migration, or judgments
-- written by a path that does not keep the rollups, such as bulk imports):
-- server/annotation/rollups.ts brings those up to date before a dashboard is read. New
-- comparisons have no judgments, so they start rolled up.
ALTER TABLE "Comparison" ADD COLUMN "rolledUp" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Comparison" ALTER COLUMN "rolledUp" SET DEFAULT true;
ALTER TABLE "Comparison" ADD COLUMN "rolledIds" TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX "Comparison_not_rolled_idx" ON "Comparison"("projectId", "id") WHERE NOT "rolledUp";

-- Median time on task per annotator: the middle of an index range, not a sort of every row.
CREATE INDEX "Judgment_time_idx" ON "Judgment"("projectId", "userId", "timeSpentMs")
WHERE source = 'human' AND "supersededAt" IS NULL AND "userId" IS NOT NULL AND "timeSpentMs" IS NOT NULL;
