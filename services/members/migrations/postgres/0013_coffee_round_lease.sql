-- One round at a time across replicas: a round runs while it holds this row's lease.
CREATE TABLE coffee_round_lease (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    held_until TIMESTAMPTZ NOT NULL
);
INSERT INTO coffee_round_lease (id, held_until) VALUES (1, '1970-01-01 00:00:00+00');
