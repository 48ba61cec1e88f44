-- The demo drops the database it created when it exits, also after an error
-- or Ctrl-C. FORCE ends connections the demo may have left open, so that
-- nothing but a killed process leaves a broadcaster_demo_… database behind.
-- {{database}} is the quoted name, as in demo_create_database.sql.
DROP DATABASE IF EXISTS {{database}} WITH (FORCE)
