-- The annotator's "Next" in one call (server/annotation/queue.ts, leaseOne): resume the lease the
-- annotator holds (when asked), else take the first free comparison in queue order (rows being
-- served to someone else at this instant are skipped, not waited for), bump its leaseCount under
-- the capacity rule, insert the assignment with the given shuffle of the completions, and return
-- what the annotator sees. A function so that its statements' plans are cached per session: the
-- same work as one big CTE statement, without planning it on every call.
CREATE OR REPLACE FUNCTION pw_lease_one(
  p_project TEXT, p_user TEXT, p_gold BOOLEAN, p_id TEXT, p_now TIMESTAMP(3), p_expires TIMESTAMP(3), p_keys DOUBLE PRECISION[], p_resume BOOLEAN
) RETURNS TABLE (
  id TEXT, "projectId" TEXT, "comparisonId" TEXT, "displayOrder" TEXT[], "leasedAt" TIMESTAMP(3), "expiresAt" TIMESTAMP(3),
  "promptText" TEXT, "promptMessages" JSONB, completions JSON, resumed BOOLEAN
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_assignment TEXT;
  v_resumed BOOLEAN := false;
  v_comparison TEXT;
  v_ids TEXT[];
  v_overlap INTEGER;
BEGIN
  IF p_resume THEN
    SELECT a.id INTO v_assignment FROM "Assignment" a
    WHERE a."userId" = p_user AND a."projectId" = p_project AND a.status = 'active' AND a."expiresAt" > p_now
    ORDER BY a."leasedAt" DESC LIMIT 1;
    v_resumed := v_assignment IS NOT NULL;
  END IF;
  IF v_assignment IS NULL THEN
    SELECT pr.overlap INTO v_overlap FROM "Project" pr WHERE pr.id = p_project;
    -- The index (projectId, status, isGold, priority DESC, createdAt) yields rows in queue order.
    -- FOR UPDATE re-checks the conditions on the row's latest version once it is locked.
    SELECT c.id, c."completionIds" INTO v_comparison, v_ids FROM "Comparison" c
    WHERE c."projectId" = p_project AND c.status = 'open' AND c."isGold" = p_gold
      AND (p_gold OR c."judgmentCount" + c."leaseCount" < v_overlap)
      AND NOT EXISTS (SELECT 1 FROM "Assignment" x WHERE x."comparisonId" = c.id AND x."userId" = p_user)
    ORDER BY c.priority DESC, c."createdAt" ASC, c.id ASC
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED;
    IF v_comparison IS NULL THEN
      RETURN;
    END IF;
    UPDATE "Comparison" c SET "leaseCount" = c."leaseCount" + 1
    WHERE c.id = v_comparison AND c.status = 'open' AND (p_gold OR c."judgmentCount" + c."leaseCount" < v_overlap);
    IF NOT FOUND THEN
      RETURN;
    END IF;
    INSERT INTO "Assignment" (id, "projectId", "comparisonId", "userId", "displayOrder", status, "leasedAt", "heartbeatAt", "expiresAt")
    VALUES (
      p_id, p_project, v_comparison, p_user,
      ARRAY(SELECT t.x FROM unnest(v_ids) WITH ORDINALITY AS t(x, i) ORDER BY p_keys[t.i], t.i),
      'active', p_now, p_now, p_expires
    );
    v_assignment := p_id;
  END IF;
  RETURN QUERY
    SELECT a.id, a."projectId", a."comparisonId", a."displayOrder", a."leasedAt", a."expiresAt", p.text, p.messages,
      (SELECT json_agg(json_build_object('id', y.id, 'text', y.text)) FROM "Completion" y WHERE y.id = ANY(a."displayOrder")),
      v_resumed
    FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId" JOIN "Prompt" p ON p.id = c."promptId"
    WHERE a.id = v_assignment;
END
$fn$;
