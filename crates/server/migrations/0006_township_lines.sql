-- The township summary's figures per village, kept across restarts
-- (src/township.rs): one village's line for one period asked on one day,
-- valid while the village's highest change-log cursor is still `cursor`.
-- A cache: deleting every row loses nothing but time.
CREATE TABLE township_lines (
    village_id TEXT   NOT NULL,
    period     TEXT   NOT NULL,
    day        TEXT   NOT NULL,
    cursor     BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    PRIMARY KEY (village_id, period, day)
);
