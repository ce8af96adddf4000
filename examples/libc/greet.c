/* greet: a WASI reactor (no main; -mexec-model=reactor) whose exports hand
 * strings back and forth with JavaScript through one heap: blocks that libc
 * allocated (strdup, asprintf) are freed by JS with heap.free, and blocks
 * JS allocated are freed by C. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An upper-case copy of `s`, from strdup: the caller frees it. */
__attribute__((export_name("shout"))) char *shout(const char *s) {
  char *p = strdup(s);
  if (p == NULL) return NULL;
  for (char *c = p; *c; c++) *c = (char)toupper((unsigned char)*c);
  return p;
}

/* "<name> owes <amount>" from asprintf: the caller frees it. */
__attribute__((export_name("owes"))) char *owes(const char *name, double amount) {
  char *out = NULL;
  return asprintf(&out, "%s owes %.2f", name, amount) < 0 ? NULL : out;
}

/* Prints `s` on stdout and frees it: `s` came from JavaScript's heap.malloc. */
__attribute__((export_name("print_and_free"))) int print_and_free(char *s) {
  int n = printf("%s\n", s);
  fflush(stdout);
  free(s);
  return n;
}
