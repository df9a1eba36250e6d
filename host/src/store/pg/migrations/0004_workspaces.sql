-- hookhost schema, version 4: workspaces.
--
-- Every record table has had `workspace_id` (default 'default') since
-- version 1; rows from before this version are in the default workspace.
-- Lists of one workspace's events and emissions use these indexes;
-- deliveries are listed by endpoint (deliveries_endpoint) or through the
-- primary key, which keeps the delivery write path at its five indexes.
CREATE INDEX events_workspace ON events (workspace_id, id);
CREATE INDEX emissions_workspace ON emissions (workspace_id, id);

-- Workspaces, their tokens and their event types: few, small records read
-- whole by every node (`kind` is 'workspace', 'token' or 'event_type').
CREATE TABLE meta (
    kind text NOT NULL,
    key text COLLATE "C" NOT NULL,
    workspace_id text NOT NULL,
    record text NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX meta_workspace ON meta (workspace_id);
