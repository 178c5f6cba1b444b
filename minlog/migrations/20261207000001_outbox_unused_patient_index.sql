-- followup_outbox_patient (patient_cpr, id) is read by no query: every look-up of a patient's
-- follow-ups is of its pending ones (a head's refresh, the heads' rebuild) and reads the
-- partial index followup_outbox_pending_patient. Yet every follow-up written put a row into
-- it at a random place (patients arrive in no order), one more page written to the WAL and
-- synced with each access record's commit.
DROP INDEX IF EXISTS followup_outbox_patient;
