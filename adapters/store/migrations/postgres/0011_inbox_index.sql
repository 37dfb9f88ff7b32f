-- The inbox: the open cases of one step of one SOP version at a service point, most urgent
-- first (overdue, then by due time, none last, then id), read as an ordered range that stops
-- at the page's size; the count of the same range reads the index alone.
CREATE INDEX cases_open_urgent ON cases
    (current_step, sop_id, sop_version, service_point, overdue DESC, (due_at IS NULL), due_at, case_id)
    WHERE status = 'open';
