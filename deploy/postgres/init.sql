-- One database per service: each service owns its store.
CREATE DATABASE linli_tickets OWNER linli;
CREATE DATABASE linli_library OWNER linli;
CREATE DATABASE linli_volunteers OWNER linli;
CREATE DATABASE linli_notify OWNER linli;
CREATE DATABASE linli_accounts OWNER linli;
CREATE DATABASE linli_activities OWNER linli;
