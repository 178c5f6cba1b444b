-- As ../migrations/20261207000001_outbox_unused_patient_index.sql: no query reads
-- followup_outbox_patient (a patient's pending follow-ups are found through
-- followup_outbox_pending_patient), and each follow-up written updated it at a random place.
DROP INDEX IF EXISTS followup_outbox_patient;
