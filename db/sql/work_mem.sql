-- De-duplicating a large audience spills to disk at the default 4MB.
SET LOCAL work_mem = '64MB'
