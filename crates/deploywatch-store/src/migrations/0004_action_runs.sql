-- Schema version 4: incident actions.
-- Released migrations are never edited: add a new file instead.

-- One run of a command from the config (`on_open`, `on_cause`, `on_resolve`) for an incident
-- event: what ran, how it ended and the tail of what it printed. The facts it was given are
-- the incident's and the check's; they are not repeated here.
CREATE TABLE action_runs (
    id               INTEGER PRIMARY KEY,
    incident_id      INTEGER REFERENCES incidents (id),
    project          TEXT    NOT NULL,
    environment      TEXT    NOT NULL,
    event            TEXT    NOT NULL, -- open | cause | resolve
    verdict          TEXT    NOT NULL, -- the incident's cause at the event
    expected_sha     TEXT,
    command          TEXT    NOT NULL, -- the words run, as a JSON array
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    outcome          TEXT    NOT NULL, -- exited | timed_out | killed | not_started
    exit_code        INTEGER,          -- for `exited`
    detail           TEXT    NOT NULL, -- one line: the signal, or why it did not start
    output           TEXT    NOT NULL, -- the last bytes of stdout and stderr together
    output_truncated INTEGER NOT NULL  -- 1 when earlier output was dropped
) STRICT;
CREATE INDEX action_runs_by_env ON action_runs (project, environment, started_at);
