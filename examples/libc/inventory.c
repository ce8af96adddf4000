/* inventory: a small C program that uses the C library the way real code
 * does -- stdio, strings, qsort, snprintf, strtod, and libc functions that
 * allocate behind its back (strdup, strndup, getline, asprintf) -- for the
 * libc path of docs/LINKING.md. Reads "name price quantity" lines on stdin;
 * prints a sorted report. Every block is freed, so a run ends with an empty
 * heap; the same source builds natively with gcc, for comparing outputs. */
#define _GNU_SOURCE /* asprintf, getline, strndup on glibc */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>

struct item {
  char *name;  /* strdup'ed: libc's allocation, freed by the program */
  char *tag;   /* strndup'ed: the first three letters */
  double price;
  long quantity;
};

static int by_value_then_name(const void *a, const void *b) {
  const struct item *x = a, *y = b;
  double vx = x->price * (double)x->quantity, vy = y->price * (double)y->quantity;
  if (vx != vy) return vx < vy ? 1 : -1;
  return strcmp(x->name, y->name);
}

/* Parses one line; 0 on success. */
static int parse(char *line, struct item *out) {
  char *save = NULL;
  char *name = strtok_r(line, " \t\n", &save);
  char *price = strtok_r(NULL, " \t\n", &save);
  char *qty = strtok_r(NULL, " \t\n", &save);
  if (!name || !price || !qty || name[0] == '#') return -1;
  char *end;
  errno = 0;
  out->price = strtod(price, &end);
  if (*end != '\0' || errno) return -1;
  out->quantity = strtol(qty, &end, 10);
  if (*end != '\0') return -1;
  out->name = strdup(name);
  out->tag = strndup(name, 3);
  for (char *t = out->tag; *t; t++) *t = (char)toupper((unsigned char)*t);
  return out->name && out->tag ? 0 : -1;
}

int main(void) {
  struct item *items = NULL;
  size_t n = 0, cap = 0, lineno = 0, skipped = 0;
  char *line = NULL;   /* getline grows it with realloc */
  size_t len = 0;
  while (getline(&line, &len, stdin) != -1) {
    lineno++;
    if (n == cap) {
      cap = cap ? cap * 2 : 4;
      struct item *grown = realloc(items, cap * sizeof *items);
      if (!grown) return 2;
      items = grown;
    }
    if (parse(line, &items[n]) == 0) n++;
    else skipped++;
  }
  free(line);
  qsort(items, n, sizeof *items, by_value_then_name);

  double total = 0;
  char row[96];
  printf("%-4s %-12s %10s %6s %12s\n", "tag", "name", "price", "qty", "value");
  for (size_t i = 0; i < n; i++) {
    double value = items[i].price * (double)items[i].quantity;
    total += value;
    int w = snprintf(row, sizeof row, "%-4s %-12.12s %10.2f %6ld %12.3f", items[i].tag, items[i].name, items[i].price, items[i].quantity, value);
    if (w < 0 || (size_t)w >= sizeof row) return 3;
    puts(row);
  }
  char *summary = NULL;
  if (asprintf(&summary, "%zu items, %zu lines skipped of %zu, total %.4e (%g)", n, skipped, lineno, total, total) < 0) return 4;
  printf("%s\n", summary);
  free(summary);

  /* the rest of the C allocation API, all from one heap */
  double *zeros = calloc(64, sizeof *zeros);
  void *aligned = NULL;
  int rc = posix_memalign(&aligned, 64, 200);
  char *page = aligned_alloc(4096, 4096);
  if (!zeros || rc || !page || ((size_t)aligned % 64) || ((size_t)page % 4096)) return 5;
  int all_zero = 1;
  for (int i = 0; i < 64; i++) all_zero &= zeros[i] == 0.0;
  printf("calloc zeroed: %s; posix_memalign(64) and aligned_alloc(4096) aligned; usable >= asked: %s\n",
         all_zero ? "yes" : "no", malloc_usable_size(page) >= 4096 ? "yes" : "no");
  free(zeros);
  free(aligned);
  free(page);
  for (size_t i = 0; i < n; i++) {
    free(items[i].name);
    free(items[i].tag);
  }
  free(items);
  return 0;
}
