-- Reserved for the partition branch's migration 0008 (deliveries and
-- delivery_attempts partitioned by run_created_at), so that this branch's
-- 0009 and 0010 keep their numbers: the numbers run without gaps. Delete
-- this file when merging that branch.
SELECT 1;
