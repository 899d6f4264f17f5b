-- E4: a threshold event is written with its mark, in the charge's transaction, and cleared once
-- Kafka acknowledged it. A kill -9 between the commit and the acknowledgement left a mark without
-- its event: the crossing was never reported again. The relay resends what is still pending (the
-- same CloudEvent, same id: consumers absorb a duplicate by id).
alter table threshold_marks add column event text;
alter table threshold_marks add column created_at timestamptz;
create index threshold_marks_pending_ix on threshold_marks (created_at) where event is not null;
