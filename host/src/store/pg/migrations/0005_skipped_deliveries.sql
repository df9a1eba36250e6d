-- hookhost schema, version 5: a delivery an endpoint's transform decided not
-- to send ends as `skipped`.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'success', 'failed', 'skipped'));
