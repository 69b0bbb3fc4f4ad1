-- Schema version 5: an incident action is recorded when it starts, not only when it ends, so a
-- run cut short by the watcher ending (a crash, a kill, a shutdown) is not lost: the next
-- watcher finds it still `running` with a runner that is gone, and records it `interrupted`.
-- Released migrations are never edited: add a new file instead.

-- The process that runs it (its pid) and when it must have ended at the latest (started_at +
-- action_timeout + the grace to kill it, in ms): past that, nobody is running it any more.
ALTER TABLE action_runs ADD COLUMN runner_pid INTEGER;
ALTER TABLE action_runs ADD COLUMN deadline INTEGER;
CREATE INDEX action_runs_running ON action_runs (outcome) WHERE outcome = 'running';
