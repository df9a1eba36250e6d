-- hookhost schema, version 3: the pace of rate-limited endpoints, shared by
-- every node (the generic cell rate algorithm's theoretical arrival time).
CREATE TABLE endpoint_pace (
    workspace_id text NOT NULL DEFAULT 'default',
    endpoint_id text COLLATE "C" PRIMARY KEY,
    tat timestamptz NOT NULL
);
