-- Schema version 3: disk conditions.
-- Released migrations are never edited: add a new file instead.

-- A period during which an environment's health reported a disk running out (free space below
-- the service's own threshold, or more than 90 % used). Inserting the row is the claim of its
-- "Disk almost full" notification and setting `ended_at` the claim of its "Disk space
-- recovered": each at most once per condition, across restarts and concurrent watchers.
CREATE TABLE disk_conditions (
    id           INTEGER PRIMARY KEY,
    project      TEXT    NOT NULL,
    environment  TEXT    NOT NULL,
    detail       TEXT    NOT NULL, -- the disk and its figures when it started
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    end_detail   TEXT              -- the disk and its figures when it ended
) STRICT;
-- At most one open condition per environment.
CREATE UNIQUE INDEX disk_conditions_open ON disk_conditions (project, environment)
    WHERE ended_at IS NULL;
