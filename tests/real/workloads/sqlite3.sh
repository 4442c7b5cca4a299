# shellcheck shell=bash
# sqlite3 workload: 300k rows inserted in one transaction from a recursive
# CTE, indexes, aggregates, joins, window functions, an update/delete pass and
# an integrity check, in an on-disk database.
# requires: sqlite3
set -e
sqlite3 -batch -bail test.db <<'SQL'
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TABLE item (id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, price REAL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO item
SELECT i, i % 97, 'item-' || (i * 7919 % 300007), (i * 37 % 1000) / 10.0,
       substr(hex(i * 2654435761), 1, 4 + i % 13)
FROM n;
CREATE TABLE grp (id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < 96)
INSERT INTO grp SELECT i, 'group-' || printf('%03d', i) FROM g;
COMMIT;
CREATE INDEX item_grp ON item(grp, price);
CREATE INDEX item_name ON item(name);
CREATE UNIQUE INDEX grp_label ON grp(label);
ANALYZE;
SELECT count(*), sum(price), min(name), max(name), count(DISTINCT note) FROM item;
SELECT g.label, count(*), round(avg(i.price), 3), max(length(i.note))
  FROM item i JOIN grp g ON g.id = i.grp
  GROUP BY g.label HAVING count(*) > 3092 ORDER BY g.label LIMIT 5;
SELECT grp, name, price, rank FROM (
  SELECT grp, name, price, rank() OVER (PARTITION BY grp ORDER BY price DESC, name) AS rank
  FROM item WHERE grp < 3) WHERE rank <= 2;
SELECT count(*) FROM item WHERE name LIKE 'item-1234%';
SELECT group_concat(id) FROM (SELECT id FROM item WHERE note GLOB '*AB*' ORDER BY id LIMIT 10);
UPDATE item SET price = price * 1.1, note = note || '-x' WHERE grp % 5 = 0;
DELETE FROM item WHERE id % 11 = 0;
SELECT count(*), round(sum(price), 2) FROM item;
SELECT g.label, count(i.id) FROM grp g LEFT JOIN item i ON i.grp = g.id AND i.price > 99
  GROUP BY g.id ORDER BY count(i.id) DESC, g.label LIMIT 3;
PRAGMA wal_checkpoint(TRUNCATE);
VACUUM;
PRAGMA integrity_check;
SQL
sqlite3 -batch test.db "SELECT count(*), sum(grp) FROM item WHERE price BETWEEN 10 AND 20;" ".tables"
sqlite3 -batch test.db .dump | wc -l
