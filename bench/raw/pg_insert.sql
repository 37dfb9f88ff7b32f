-- pgbench custom script: one single-row INSERT, one transaction (autocommit), per run.
INSERT INTO raw_commit (payload) VALUES (repeat('x', 400));
