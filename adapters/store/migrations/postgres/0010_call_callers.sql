-- Who made each call (the user name of the staff member at the counter: staff, not citizens),
-- so that a supervisor sees who called last at each counter. NULL: a call recorded before
-- this column existed.
ALTER TABLE queue_calls ADD COLUMN called_by TEXT;
