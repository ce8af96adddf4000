/* sqlite-run: runs the SQL script on stdin against an in-memory SQLite
 * database and prints every result row as the sqlite3 shell's list mode
 * does (columns joined by '|', NULL as an empty field). A statement that
 * fails prints "error: <message>" and the script goes on; exit code 0
 * unless the database cannot be opened. SQLite itself
 * (sqlite3.c, public domain) comes from the npm registry at build time
 * (scripts/setup-sqlite.sh); it is not part of this repository.
 * Allocation-heavy: SQLite's pages, B-trees, sorter and strings all come
 * from malloc/realloc/free, i.e. from linalloc under linkModules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

/* All of stdin, NUL-terminated, grown with realloc. */
static char *read_all(FILE *in) {
  size_t len = 0, cap = 4096;
  char *buf = malloc(cap);
  for (size_t n; buf && (n = fread(buf + len, 1, cap - len - 1, in)) > 0;) {
    len += n;
    if (cap - len < 2048) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
    }
  }
  if (buf) buf[len] = '\0';
  return buf;
}

int main(void) {
  char *sql = read_all(stdin);
  sqlite3 *db = NULL;
  if (!sql || sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  int errors = 0;
  for (const char *tail = sql; *tail;) {
    sqlite3_stmt *stmt = NULL;
    const char *start = tail;
    if (sqlite3_prepare_v2(db, start, -1, &stmt, &tail) != SQLITE_OK) {
      printf("error: %s\n", sqlite3_errmsg(db));
      errors++;
      if (tail == start) break; /* nothing parsed: no way past it */
      continue;                 /* tail is past the bad statement */
    }
    if (!stmt) continue; /* whitespace or a comment */
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      for (int i = 0, n = sqlite3_column_count(stmt); i < n; i++) {
        const unsigned char *v = sqlite3_column_text(stmt, i);
        printf("%s%s", i ? "|" : "", v ? (const char *)v : "");
      }
      putchar('\n');
    }
    if (rc != SQLITE_DONE) {
      printf("error: %s\n", sqlite3_errmsg(db));
      errors++;
    }
    sqlite3_finalize(stmt);
  }
#ifdef PLANT_OVERRUN
  /* one byte past a block: SQLite asks malloc for 8 + 16 bytes and hands
   * out the 16 after its size header; p[16] is the block's 25th byte */
  char *p = sqlite3_malloc(16);
  if (p) p[16] = 'x';
  sqlite3_free(p);
#endif
  printf("-- %d errors; sqlite %s\n", errors, sqlite3_libversion());
  sqlite3_close(db);
  free(sql);
  return 0;
}
