-- Tables, indexes, a few thousand rows, joins, grouping, sorting, window
-- functions, JSON, string and date functions, updates and deletes: SQLite's
-- allocator traffic, checked byte for byte against gcc's native build.
PRAGMA temp_store = MEMORY;
CREATE TABLE city(id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT, population INTEGER);
CREATE TABLE trip(id INTEGER PRIMARY KEY, origin INTEGER REFERENCES city, dest INTEGER REFERENCES city, km REAL, day TEXT, note TEXT);
INSERT INTO city(name, country, population) VALUES
  ('Lisbon', 'PT', 545000), ('Porto', 'PT', 232000), ('Madrid', 'ES', 3305000), ('Seville', 'ES', 684000),
  ('Paris', 'FR', 2102000), ('Lyon', 'FR', 522000), ('Berlin', 'DE', 3755000), ('Hamburg', 'DE', 1892000),
  ('Vienna', 'AT', 1982000), ('Prague', 'CZ', 1357000), ('Warsaw', 'PL', 1861000), ('Rome', 'IT', 2750000);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO trip(origin, dest, km, day, note)
  SELECT 1 + (i * 7) % 12, 1 + (i * 11 + 3) % 12, round(((i * 7919) % 2500) / 3.0 + 12.5, 2),
         date('2026-01-01', '+' || (i % 365) || ' days'),
         printf('trip %05d %s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 1 + i % 9))
  FROM n;
CREATE INDEX trip_origin ON trip(origin, day);
CREATE INDEX trip_note ON trip(note);
SELECT count(*), sum(km), min(day), max(day) FROM trip;
SELECT c.name, count(*) AS trips, printf('%.2f', avg(t.km)) AS avg_km
  FROM trip t JOIN city c ON c.id = t.origin GROUP BY c.id ORDER BY trips DESC, c.name LIMIT 8;
SELECT o.country || '->' || d.country AS route, count(*), printf('%.1f', sum(km))
  FROM trip t JOIN city o ON o.id = t.origin JOIN city d ON d.id = t.dest
  WHERE o.country <> d.country GROUP BY route HAVING count(*) > 60 ORDER BY 2 DESC, 1 LIMIT 10;
SELECT strftime('%m', day) AS month, count(*), printf('%.3f', total(km) / 1000.0)
  FROM trip GROUP BY month ORDER BY month;
SELECT name, population, rank() OVER (PARTITION BY country ORDER BY population DESC) AS r,
       sum(population) OVER (ORDER BY population DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
  FROM city ORDER BY population DESC;
SELECT json_group_array(json_object('city', name, 'pop', population)) FROM (SELECT * FROM city WHERE country IN ('PT', 'ES') ORDER BY name);
SELECT json_extract('{"a":[1,2,{"b":"deep"}]}', '$.a[2].b'), json_array_length('[1,2,3,4]'), json('{"x" : 1 , "y":[ ]}');
SELECT upper(name), lower(country), length(name), replace(name, 'a', '4'), instr(name, 'r'), hex(substr(name, 1, 2)) FROM city ORDER BY id LIMIT 5;
SELECT group_concat(name, ', ') FROM (SELECT name FROM city ORDER BY length(name), name);
SELECT note FROM trip WHERE note LIKE 'trip 0499%' ORDER BY note;
SELECT id, note FROM trip WHERE note GLOB '*xyz*' ORDER BY id LIMIT 5;
UPDATE trip SET km = km * 1.5, note = note || ' (long)' WHERE km > 800;
DELETE FROM trip WHERE id % 3 = 0;
SELECT changes(), total_changes() > 0, count(*), printf('%.2f', sum(km)) FROM trip;
CREATE TABLE words AS WITH RECURSIVE w(i, s) AS (SELECT 1, 'x' UNION ALL SELECT i + 1, s || char(97 + i % 26) FROM w WHERE i < 400) SELECT i, s FROM w;
SELECT count(*), sum(length(s)), max(length(s)), substr(max(s), 1, 30) FROM words;
SELECT i, length(s) FROM words ORDER BY s DESC LIMIT 3;
VACUUM;
SELECT count(*) FROM trip t1 JOIN trip t2 ON t1.origin = t2.dest AND t1.day = t2.day WHERE t1.id < 400;
SELECT quote(zeroblob(4)), typeof(1.5), typeof('a'), typeof(NULL), coalesce(NULL, 'fallback'), nullif(3, 3), iif(1 > 2, 'yes', 'no');
SELECT 1 / 0, 7 % 3, 2.0 / 3, cast('42abc' AS INTEGER), round(2.5), round(-2.5), abs(-9223372036854775807);
SELECT no_such_column FROM city;
SELECT 'after the error', 1;
DROP TABLE words;
SELECT count(*) FROM sqlite_schema;
