-- rosterd SQLite schema: the core tables as migrations 1, 6 and 8 leave them
-- (owned by src/store/sqlite.c)
CREATE TABLE tenants (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  rate_rps INTEGER NOT NULL DEFAULT 0,
  rate_burst INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,                 -- "tok_" + 16 hex
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL DEFAULT '',
  scopes TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE,           -- SHA-256 of the secret
  created TEXT NOT NULL,
  last_used TEXT,
  revoked_at TEXT
);
CREATE TABLE resources (
  rid INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants(id),
  type INTEGER NOT NULL,               -- 1 User, 2 Group
  id TEXT NOT NULL,                    -- UUID
  name TEXT NOT NULL,                  -- userName / displayName
  external_id TEXT,
  active INTEGER NOT NULL DEFAULT 1,
  doc TEXT NOT NULL,                   -- JSON, layout in src/scim/schema.h
  version INTEGER NOT NULL,
  created TEXT NOT NULL,               -- 'YYYY-MM-DDTHH:MM:SS.mmmZ' UTC
  modified TEXT NOT NULL,
  deleted_at TEXT
);
CREATE UNIQUE INDEX resources_id ON resources(tenant_id, id);
CREATE UNIQUE INDEX resources_username ON resources(tenant_id, name COLLATE NOCASE)
  WHERE type = 1 AND deleted_at IS NULL;
-- Groups' displayName; Users' userName is resources_username (migration 6)
CREATE INDEX resources_name ON resources(tenant_id, name COLLATE NOCASE)
  WHERE type = 2 AND deleted_at IS NULL;
-- externalId lookups use feed_people_key (migration 3)
-- list pages without sortBy walk this in rid order: no sort step
CREATE INDEX resources_list ON resources(tenant_id, type)
  WHERE deleted_at IS NULL;
-- live resources per tenant and type, for totalResults without count(*)
CREATE TABLE resource_counts (
  tenant_id INTEGER NOT NULL,
  type INTEGER NOT NULL,
  live INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, type)
) WITHOUT ROWID;
CREATE TRIGGER resources_count_ins AFTER INSERT ON resources
  WHEN NEW.deleted_at IS NULL BEGIN
  INSERT INTO resource_counts VALUES (NEW.tenant_id, NEW.type, 1)
    ON CONFLICT DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER resources_count_del AFTER UPDATE OF deleted_at ON resources
  WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL BEGIN
  UPDATE resource_counts SET live = live - 1
    WHERE tenant_id = NEW.tenant_id AND type = NEW.type;
END;
CREATE TABLE members (
  group_rid INTEGER NOT NULL REFERENCES resources(rid),
  member_rid INTEGER NOT NULL REFERENCES resources(rid),
  PRIMARY KEY (group_rid, member_rid)
) WITHOUT ROWID;
CREATE INDEX members_member ON members(member_rid);
CREATE TABLE history (
  seq INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL,
  type INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  resource_id TEXT NOT NULL,
  op TEXT NOT NULL,                    -- create | update | delete
  at TEXT NOT NULL,
  token_id TEXT,
  source TEXT NOT NULL,                -- scim | hris | admin | cli
  version INTEGER NOT NULL,
  before TEXT,                         -- doc JSON before (NULL on create)
  after TEXT,                          -- doc JSON after (NULL on delete)
  members_delta TEXT                   -- Groups: {"added":[ids],"removed":[ids]} or NULL
);
CREATE INDEX history_resource ON history(tenant_id, rid, seq);
-- The document after each change (migration 8): rows keep only `before`;
-- `after` is the next row's `before`, or the resource's document for the
-- latest row (rows written before migration 8 keep their own).
CREATE VIEW history_full AS
  SELECT h.seq, h.tenant_id, h.type, h.rid, h.resource_id, h.op, h.at,
    h.token_id, h.source, h.version, h.before,
    CASE WHEN h.op = 'delete' THEN NULL
      ELSE coalesce(h.after, (SELECT n.before FROM history n
        WHERE n.tenant_id = h.tenant_id AND n.rid = h.rid AND n.seq > h.seq
        ORDER BY n.seq LIMIT 1), r.doc) END AS after,
    h.members_delta
  FROM history h JOIN resources r ON r.rid = h.rid;
