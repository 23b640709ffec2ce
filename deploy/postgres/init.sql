-- One database per service (each service owns its data). `members` is POSTGRES_DB.
CREATE DATABASE notifications;
CREATE DATABASE events;
