-- The repository's garbage collector asks, per content-addressed file, whether any
-- DocumentEntry still names its hash; without an index every question would scan the table.
-- The column holds the hash lower-cased (see index.rs), as the files are named.
CREATE INDEX registry_object_hash ON registry_object (hash);
