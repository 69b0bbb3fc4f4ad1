-- Schema version 1: the base history of SPEC §4.
-- Released migrations are never edited: a change to the schema is a new file and a new entry in
-- `schema::MIGRATIONS`.
--
-- Times are integer milliseconds since the Unix epoch, UTC, everywhere. Verdicts are their stable
-- snake_case names (`phantom`). SHAs are lowercase hex as `Sha` produces them.

-- The head of a watched branch, one row each time it changes (A -> B -> A gives three rows).
CREATE TABLE pushes (
    id         INTEGER PRIMARY KEY,
    project    TEXT    NOT NULL,
    branch     TEXT    NOT NULL,
    sha        TEXT    NOT NULL,
    author     TEXT,
    message    TEXT,
    first_seen INTEGER NOT NULL, -- the first time this SHA was seen on the branch at all
    head_at    INTEGER NOT NULL, -- when it became the head (this row)
    last_seen  INTEGER NOT NULL  -- the latest poll that still saw it as the head
) STRICT;
CREATE INDEX pushes_by_branch ON pushes (project, branch);
CREATE INDEX pushes_by_sha ON pushes (project, branch, sha);

-- CI runs seen, upserted by run id: the latest status and conclusion.
CREATE TABLE ci_runs (
    project      TEXT    NOT NULL,
    run_id       INTEGER NOT NULL,
    workflow     TEXT    NOT NULL,
    head_sha     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    conclusion   TEXT,
    url          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER,
    first_seen   INTEGER NOT NULL,
    changed_at   INTEGER NOT NULL, -- when status or conclusion last changed
    PRIMARY KEY (project, run_id)
) STRICT;
CREATE INDEX ci_runs_by_sha ON ci_runs (project, head_sha);

-- Checks: every state change (changed = 1, kept for ever) and a bounded sample of unchanged
-- checks (changed = 0, pruned after the retention period).
CREATE TABLE checks (
    id           INTEGER PRIMARY KEY,
    project      TEXT    NOT NULL,
    environment  TEXT    NOT NULL,
    checked_at   INTEGER NOT NULL,
    verdict      TEXT    NOT NULL,
    expected_sha TEXT,
    live_sha     TEXT,
    changed      INTEGER NOT NULL,
    report       TEXT    NOT NULL -- the Report as JSON
) STRICT;
-- Every index on a rowid table ends in the rowid, so this one orders by (checked_at, id): the
-- keyset of check paging and of "the latest check of this environment".
CREATE INDEX checks_by_env ON checks (project, environment, checked_at);
-- Only samples are ever pruned; a partial index keeps that delete from scanning every change.
CREATE INDEX checks_samples ON checks (checked_at) WHERE changed = 0;

-- The current state of each environment, for `deploywatch status` and a restarted watcher.
CREATE TABLE env_state (
    project       TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    verdict       TEXT    NOT NULL,
    checked_at    INTEGER NOT NULL,
    next_check_at INTEGER,
    report        TEXT    NOT NULL, -- the latest Report as JSON
    incident      TEXT    NOT NULL, -- the IncidentState as JSON
    PRIMARY KEY (project, environment)
) STRICT;

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    project          TEXT    NOT NULL,
    environment      TEXT    NOT NULL,
    verdict          TEXT    NOT NULL, -- the current (or last) cause
    opened_verdict   TEXT    NOT NULL,
    expected_sha     TEXT,
    opened_at        INTEGER NOT NULL,
    cause_changed_at INTEGER,
    resolved_at      INTEGER
) STRICT;
-- At most one open incident per environment.
CREATE UNIQUE INDEX incidents_open ON incidents (project, environment) WHERE resolved_at IS NULL;
CREATE INDEX incidents_by_env ON incidents (project, environment, opened_at);

-- Notifications claimed before sending; `dedupe` enforces "at most one alert per (project,
-- environment, expected SHA, verdict)" and one resolve per incident.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    dedupe       TEXT    NOT NULL UNIQUE,
    project      TEXT    NOT NULL,
    environment  TEXT    NOT NULL,
    expected_sha TEXT,
    verdict      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    incident_id  INTEGER REFERENCES incidents (id),
    claimed_at   INTEGER NOT NULL
) STRICT;

-- The history timeline, appended by the writes that change something. `environment` is NULL
-- for project-wide events (pushes, CI runs). `check_id` is a plain reference, not a foreign key:
-- a foreign key would make every pruned check scan this table.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    project     TEXT    NOT NULL,
    environment TEXT,
    sha         TEXT,
    verdict     TEXT,
    detail      TEXT    NOT NULL,
    check_id    INTEGER,
    incident_id INTEGER REFERENCES incidents (id)
) STRICT;
-- Keyset paging on (at, id) for each filter shape: all, one project, one environment.
CREATE INDEX events_by_time ON events (at);
CREATE INDEX events_by_project ON events (project, at);
CREATE INDEX events_by_env ON events (project, environment, at);
