-- hookhost schema, version 2: deliveries leased per endpoint, counted when
-- a node takes more (the per-endpoint concurrency limit holds across
-- nodes). Only leased rows are in the index; recording an attempt clears
-- the lease.
CREATE INDEX deliveries_leased ON deliveries (endpoint_id, lease_until)
    WHERE lease_until IS NOT NULL;
