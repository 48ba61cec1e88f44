-- `broadcaster demo` never writes to the database DATABASE_URL names: it
-- creates a database of its own on that server (SPEC §7), owned by the role
-- that connects, which therefore needs CREATEDB. A database name is an
-- identifier, which no query parameter can carry: {{database}} is replaced
-- with the quoted name that the demo made up itself (broadcaster_demo_<hex>).
CREATE DATABASE {{database}}
