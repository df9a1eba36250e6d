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
UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL;
