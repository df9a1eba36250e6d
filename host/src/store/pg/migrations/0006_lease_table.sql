-- hookhost schema, version 6: leases in a table of their own. A lease was
-- a new version of the delivery row (a non-HOT update touching every index
-- of the table); it is now a small row here, inserted when a node takes a
-- delivery and deleted with the attempt's record. Counting an endpoint's
-- live leases reads this table only.
CREATE TABLE leases (
    delivery_id text COLLATE "C" PRIMARY KEY,
    endpoint_id text COLLATE "C" NOT NULL,
    until timestamptz NOT NULL
);
CREATE INDEX leases_endpoint ON leases (endpoint_id);
INSERT INTO leases (delivery_id, endpoint_id, until)
    SELECT id, endpoint_id, lease_until FROM deliveries
    WHERE lease_until IS NOT NULL AND status = 'pending';
DROP INDEX deliveries_leased;
ALTER TABLE deliveries DROP COLUMN lease_until;

-- Taking leases in one round trip (`Postgres::lease`): locks the endpoints
-- involved (advisory locks, in the order given, so two nodes cannot
-- deadlock), then in one statement (its snapshot taken under the locks)
-- counts each endpoint's live leases and leases what fits under
-- `per_endpoint`, where the delivery is still at the position read and no
-- live lease holds it. The deliveries taken are share-locked meanwhile: an
-- attempt being recorded (its row updated, then its lease deleted) is
-- waited for and the delivery checked again in the state it left.
CREATE FUNCTION hookhost_lease(
    wanted_ids text[], wanted_at bigint[], wanted_endpoints text[],
    locked_endpoints text[], per_endpoint bigint, take_until timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(e, 1751))
    FROM unnest(locked_endpoints) WITH ORDINALITY AS u(e, n) ORDER BY n;
    RETURN QUERY
    WITH live AS (
        SELECT l.endpoint_id, count(*) AS n FROM leases l
        WHERE l.endpoint_id = ANY(locked_endpoints) AND l.until > now()
        GROUP BY l.endpoint_id
    ), ranked AS (
        SELECT w.id, w.at_ms, w.endpoint_id,
               row_number() OVER (PARTITION BY w.endpoint_id ORDER BY w.n) AS k
        FROM unnest(wanted_ids, wanted_at, wanted_endpoints)
             WITH ORDINALITY AS w(id, at_ms, endpoint_id, n)
    ), chosen AS (
        SELECT r.id, r.at_ms FROM ranked r
        LEFT JOIN live ON live.endpoint_id = r.endpoint_id
        WHERE r.k <= per_endpoint - coalesce(live.n, 0)
    )
    INSERT INTO leases AS l (delivery_id, endpoint_id, until)
    SELECT d.id, d.endpoint_id, take_until
    FROM chosen c JOIN deliveries d ON d.id = c.id
    WHERE d.status = 'pending' AND d.next_attempt_ms = c.at_ms
    ORDER BY d.id FOR SHARE OF d
    ON CONFLICT (delivery_id) DO UPDATE
        SET until = EXCLUDED.until, endpoint_id = EXCLUDED.endpoint_id
        WHERE l.until < now()
    RETURNING l.delivery_id;
END
$$;
