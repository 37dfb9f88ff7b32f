-- Where an open case waits in a queue (its queue, when it entered it, its number's sequence),
-- NULL when it waits in none: a projection of the events like the rest of the row, so that a
-- call takes the next waiting case in one claiming statement. Cases waiting when this was
-- added get theirs from the service at its start (`Runtime::project_queue_places`).
ALTER TABLE cases ADD COLUMN queue_id TEXT;
ALTER TABLE cases ADD COLUMN queue_entered_at TEXT;
ALTER TABLE cases ADD COLUMN queue_sequence INTEGER;

-- The waiting cases of one queue at a service point, in the order they are called.
CREATE INDEX cases_waiting ON cases
    (service_point, queue_id, queue_entered_at, queue_sequence, case_id)
    WHERE queue_id IS NOT NULL;
