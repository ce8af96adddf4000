/* linalloc-libc: makes a wasi-libc program use linalloc as its only allocator.
 *
 * Linked before libc (`-llinalloc-libc`, or this object on the command line),
 * it defines every symbol of wasi-libc's malloc.o/dlmalloc.o, so the linker
 * never pulls libc's own allocator in, and forwards each call to linalloc's
 * exports, imported from module `env` and bound by `linkModules` at load
 * time. libc's own allocations (strdup, getline, asprintf, locales, atexit)
 * and C++'s operator new/delete call these same names, so every block of the
 * program lives in linalloc's heap and any of them can be freed by either side.
 *
 * Built with: clang --target=wasm32-wasi -O2 -c linalloc-libc.c (no headers
 * beyond <stddef.h> and <errno.h>: the same object serves wasi-libc and zig cc).
 * Pass it as an object, not an archive: zig cc puts its own C library
 * before the user's files, and an archive member would lose to it.
 */
#include <errno.h>
#include <stddef.h>

#define LINALLOC(name) __attribute__((import_module("env"), import_name(#name)))

LINALLOC(malloc) void *linalloc_malloc(size_t size);
LINALLOC(free) void linalloc_free(void *ptr);
LINALLOC(calloc) void *linalloc_calloc(size_t n, size_t size);
LINALLOC(realloc) void *linalloc_realloc(void *ptr, size_t size);
LINALLOC(aligned_alloc) void *linalloc_aligned_alloc(size_t align, size_t size);
LINALLOC(heap_block_size) size_t linalloc_block_size(const void *ptr);

/* C says a failed allocation sets errno; linalloc itself only returns 0. */
static void *or_enomem(void *p, size_t size) {
  if (p == NULL && size != 0) errno = ENOMEM;
  return p;
}

void *malloc(size_t size) { return or_enomem(linalloc_malloc(size), size); }

void free(void *ptr) { linalloc_free(ptr); }

void *calloc(size_t n, size_t size) {
  void *p = linalloc_calloc(n, size);
  if (p == NULL && n != 0 && size != 0) errno = ENOMEM;
  return p;
}

void *realloc(void *ptr, size_t size) { return or_enomem(linalloc_realloc(ptr, size), size); }

/* linalloc takes any power of two up to 64 KiB and any size (C17 dropped
 * the rule that size be a multiple of the alignment). */
void *aligned_alloc(size_t align, size_t size) {
  void *p = linalloc_aligned_alloc(align, size);
  if (p == NULL) errno = (align & (align - 1)) || align == 0 ? EINVAL : ENOMEM;
  return p;
}

int posix_memalign(void **out, size_t align, size_t size) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
  void *p = linalloc_aligned_alloc(align, size);
  if (p == NULL) return align > 65536 ? EINVAL : ENOMEM;
  *out = p;
  return 0;
}

/* The size the block was asked for: all a caller may use. */
size_t malloc_usable_size(void *ptr) {
  if (ptr == NULL) return 0;
  size_t n = linalloc_block_size(ptr);
  return n == (size_t)-1 ? 0 : n;
}

/* The rest of the allocation family. zig's C library defines these (weak)
 * over an allocator of its own, so they are defined here too; for
 * wasi-libc they only replace its versions, which call malloc anyway. */
void *memalign(size_t align, size_t size) { return aligned_alloc(align, size); }

void *valloc(size_t size) { return aligned_alloc(65536, size); }

void *reallocarray(void *ptr, size_t n, size_t size) {
  if (size != 0 && n > (size_t)-1 / size) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(ptr, n * size);
}

char *strndup(const char *s, size_t n) {
  size_t len = 0;
  while (len < n && s[len]) len++;
  char *p = malloc(len + 1);
  if (p == NULL) return NULL;
  for (size_t i = 0; i < len; i++) p[i] = s[i];
  p[len] = '\0';
  return p;
}

char *strdup(const char *s) { return strndup(s, (size_t)-1); }

wchar_t *wcsdup(const wchar_t *s) {
  size_t len = 0;
  while (s[len]) len++;
  wchar_t *p = malloc((len + 1) * sizeof *p);
  if (p == NULL) return NULL;
  for (size_t i = 0; i <= len; i++) p[i] = s[i];
  return p;
}

/* wasi-libc's locale and atexit code call these names directly. */
void *__libc_malloc(size_t size) { return malloc(size); }
void *__libc_calloc(size_t n, size_t size) { return calloc(n, size); }
void __libc_free(void *ptr) { free(ptr); }
