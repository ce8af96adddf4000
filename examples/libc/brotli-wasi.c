/* What the brotli command-line tool needs beyond wasi-libc: WASI has no
 * file modes or owners, so chmod and chown fail with ENOTSUP. The tool
 * calls them only to copy a source file's metadata onto an output file,
 * which the tests (stdin to stdout, -c) never ask of it. */
#include <errno.h>
#include <sys/types.h>

int chmod(const char *path, mode_t mode) {
  (void)path;
  (void)mode;
  errno = ENOTSUP;
  return -1;
}

int chown(const char *path, uid_t owner, gid_t group) {
  (void)path;
  (void)owner;
  (void)group;
  errno = ENOTSUP;
  return -1;
}
