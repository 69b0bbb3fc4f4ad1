-- Schema version 2: deploy lag and the GitHub ETag cache.
-- Released migrations are never edited: add a new file instead.

-- Observed deploy lag per (project, environment, SHA): the first time each stage was seen.
CREATE TABLE deploy_lag (
    project              TEXT    NOT NULL,
    environment          TEXT    NOT NULL,
    sha                  TEXT    NOT NULL,
    created_at           INTEGER NOT NULL, -- the first stage recorded, for newest-first listing
    pushed_at            INTEGER,
    ci_green_at          INTEGER,
    first_live_at        INTEGER,
    all_replicas_live_at INTEGER,
    PRIMARY KEY (project, environment, sha)
) STRICT;
CREATE INDEX deploy_lag_by_time ON deploy_lag (created_at);
CREATE INDEX deploy_lag_by_env ON deploy_lag (project, environment, created_at);

-- Bodies of GitHub answers with their ETag, so a restarted watcher still sends If-None-Match
-- and gets 304s that cost no rate limit.
CREATE TABLE etag_cache (
    key       TEXT    PRIMARY KEY,
    etag      TEXT    NOT NULL,
    body      BLOB    NOT NULL,
    stored_at INTEGER NOT NULL
) STRICT;
