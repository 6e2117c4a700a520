/*
 * power-loss shim: an LD_PRELOAD library that journals every write and every sync a process
 * makes to the files under one directory, so a test can build the disk image a power cut could
 * leave (docs/testing.md, "Power loss"). It changes nothing the process sees: every call goes to
 * libc unchanged; the journal is written beside it.
 *
 * Environment (read once, at load; then LD_PRELOAD is removed from the environment so no
 * program this process starts loads the shim too, and a forked child (another pid) passes
 * every call straight through):
 *   PL_DIR      absolute path; files at or under it are tracked
 *   PL_JOURNAL  the journal file (outside PL_DIR), created or appended to
 *
 * Journal: a sequence of records, each a 48-byte header then `pathBytes` bytes of path(s) then
 * `dataBytes` bytes of data (all integers little-endian, as the machine writes them):
 *   u32 type, u32 pathBytes, u64 seq, u64 ino, u64 off, u64 len, u64 aux
 * seq numbers records 1, 2, ... in the order the calls completed (one mutex around each tracked
 * call and its record, so the order is the order the kernel saw them). Types:
 *   1 OPEN      ino, off = open flags, aux bit0 = the call created the file, bit1 = a directory; path
 *   2 WRITE     ino, off, len; aux bit0 = all zero bytes (no data follows), bit1 = O_SYNC/O_DSYNC fd; data
 *   3 TRUNC     ino, len = new size
 *   4 SYNC      ino, aux = last seq issued before the sync started (what it covers), off = 1 for fdatasync
 *   5 DIRSYNC   aux as SYNC; path = the directory
 *   6 RENAME    path = old NUL new
 *   7 UNLINK    path
 *   8 MKDIR     path
 *   9 RMDIR     path
 *  10 SYNCALL   aux as SYNC (sync(), syncfs())
 *  11 UNSUPPORTED  path = what happened (a shared writable mmap of a tracked file, a sync_file_range,
 *              an msync...): the test decides whether it matters
 *  12 FALLOC    ino, off, len, aux = mode
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { R_OPEN = 1, R_WRITE, R_TRUNC, R_SYNC, R_DIRSYNC, R_RENAME, R_UNLINK, R_MKDIR, R_RMDIR, R_SYNCALL, R_UNSUPPORTED, R_FALLOC };

struct rec {
  uint32_t type, path_bytes;
  uint64_t seq, ino, off, len, aux;
};

#define MAX_FD 65536
struct fdinfo {
  char tracked, dsync, isdir;
  uint64_t ino;
  char *path; /* directories only */
};

static struct fdinfo fds[MAX_FD];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int journal_fd = -1;
static pid_t owner_pid;
static char dir_prefix[PATH_MAX];
static size_t dir_len;
static uint64_t seq;

#define REAL(ret, name, args) static ret(*real_##name) args
REAL(int, open, (const char *, int, ...));
REAL(int, open64, (const char *, int, ...));
REAL(int, openat, (int, const char *, int, ...));
REAL(int, openat64, (int, const char *, int, ...));
REAL(int, __open_2, (const char *, int));
REAL(int, __open64_2, (const char *, int));
REAL(int, __openat_2, (int, const char *, int));
REAL(int, __openat64_2, (int, const char *, int));
REAL(int, creat, (const char *, mode_t));
REAL(int, creat64, (const char *, mode_t));
REAL(ssize_t, write, (int, const void *, size_t));
REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));
REAL(ssize_t, pwrite64, (int, const void *, size_t, off64_t));
REAL(ssize_t, writev, (int, const struct iovec *, int));
REAL(ssize_t, pwritev, (int, const struct iovec *, int, off_t));
REAL(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t));
REAL(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int));
REAL(ssize_t, pwritev64v2, (int, const struct iovec *, int, off64_t, int));
REAL(int, ftruncate, (int, off_t));
REAL(int, ftruncate64, (int, off64_t));
REAL(int, truncate, (const char *, off_t));
REAL(int, truncate64, (const char *, off64_t));
REAL(int, fallocate, (int, int, off_t, off_t));
REAL(int, fallocate64, (int, int, off64_t, off64_t));
REAL(int, posix_fallocate, (int, off_t, off_t));
REAL(int, posix_fallocate64, (int, off64_t, off64_t));
REAL(int, fsync, (int));
REAL(int, fdatasync, (int));
REAL(int, syncfs, (int));
REAL(void, sync, (void));
REAL(int, sync_file_range, (int, off64_t, off64_t, unsigned int));
REAL(int, msync, (void *, size_t, int));
REAL(void *, mmap, (void *, size_t, int, int, int, off_t));
REAL(void *, mmap64, (void *, size_t, int, int, int, off64_t));
REAL(int, rename, (const char *, const char *));
REAL(int, renameat, (int, const char *, int, const char *));
REAL(int, renameat2, (int, const char *, int, const char *, unsigned int));
REAL(int, unlink, (const char *));
REAL(int, unlinkat, (int, const char *, int));
REAL(int, mkdir, (const char *, mode_t));
REAL(int, mkdirat, (int, const char *, mode_t));
REAL(int, rmdir, (const char *));
REAL(int, close, (int));
REAL(int, dup, (int));
REAL(int, dup2, (int, int));
REAL(int, dup3, (int, int, int));
REAL(ssize_t, copy_file_range, (int, off64_t *, int, off64_t *, size_t, unsigned int));
REAL(ssize_t, sendfile, (int, int, off_t *, size_t));
REAL(ssize_t, sendfile64, (int, int, off64_t *, size_t));

#define LOAD(name) real_##name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void pl_init(void) {
  LOAD(open); LOAD(open64); LOAD(openat); LOAD(openat64); LOAD(__open_2); LOAD(__open64_2); LOAD(__openat_2);
  LOAD(__openat64_2); LOAD(creat); LOAD(creat64); LOAD(write); LOAD(pwrite); LOAD(pwrite64); LOAD(writev);
  LOAD(pwritev); LOAD(pwritev64); LOAD(pwritev2); LOAD(pwritev64v2); LOAD(ftruncate); LOAD(ftruncate64);
  LOAD(truncate); LOAD(truncate64); LOAD(fallocate); LOAD(fallocate64); LOAD(posix_fallocate);
  LOAD(posix_fallocate64); LOAD(fsync); LOAD(fdatasync); LOAD(syncfs); LOAD(sync); LOAD(sync_file_range);
  LOAD(msync); LOAD(mmap); LOAD(mmap64); LOAD(rename); LOAD(renameat); LOAD(renameat2); LOAD(unlink);
  LOAD(unlinkat); LOAD(mkdir); LOAD(mkdirat); LOAD(rmdir); LOAD(close); LOAD(dup); LOAD(dup2); LOAD(dup3);
  LOAD(copy_file_range); LOAD(sendfile); LOAD(sendfile64);
  const char *d = getenv("PL_DIR"), *j = getenv("PL_JOURNAL");
  unsetenv("LD_PRELOAD"); /* only this process: programs it starts do not load the shim */
  if (d == NULL || j == NULL || d[0] != '/' || strlen(d) >= sizeof dir_prefix) return;
  strcpy(dir_prefix, d);
  dir_len = strlen(dir_prefix);
  while (dir_len > 1 && dir_prefix[dir_len - 1] == '/') dir_prefix[--dir_len] = 0;
  journal_fd = real_open(j, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  owner_pid = getpid();
}

static int active(void) { return journal_fd >= 0 && getpid() == owner_pid; }

/* Absolute form of `path` relative to `dirfd` (no normalisation of . and ..). */
static int absolute(int dirfd, const char *path, char *out) {
  if (path == NULL) return -1;
  if (path[0] == '/') {
    if (strlen(path) >= PATH_MAX) return -1;
    strcpy(out, path);
    return 0;
  }
  char base[PATH_MAX];
  if (dirfd == AT_FDCWD) {
    if (getcwd(base, sizeof base) == NULL) return -1;
  } else {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, base, sizeof base - 1);
    if (n < 0) return -1;
    base[n] = 0;
  }
  if (strlen(base) + 1 + strlen(path) >= PATH_MAX) return -1;
  sprintf(out, "%s/%s", base, path);
  return 0;
}

static int under(const char *abs) {
  return strncmp(abs, dir_prefix, dir_len) == 0 && (abs[dir_len] == 0 || abs[dir_len] == '/');
}

/* PL_DIR's parent: only its fsync matters (it makes PL_DIR's own entry durable). */
static int is_parent(const char *abs) {
  size_t n = strlen(abs);
  while (n > 1 && abs[n - 1] == '/') n--;
  const char *slash = strrchr(dir_prefix, '/');
  size_t p = slash == dir_prefix ? 1 : (size_t)(slash - dir_prefix);
  return n == p && strncmp(abs, dir_prefix, p) == 0;
}

static void forget(int fd);

/*
 * Whether fd is a tracked file. The table entry is checked against the fd's inode: a close the
 * shim did not see (libuv may close with a raw system call) leaves a stale entry, and the fd
 * number may since name another file.
 */
static int tracked(int fd) {
  if (!active() || fd < 0 || fd >= MAX_FD || !fds[fd].tracked) return 0;
  struct stat st;
  if (fstat(fd, &st) == 0 && (uint64_t)st.st_ino == fds[fd].ino) return 1;
  pthread_mutex_lock(&mu);
  forget(fd);
  pthread_mutex_unlock(&mu);
  return 0;
}

/* Appends one record (caller holds mu). A kill -9 can cut the last record short; readers drop it. */
static void emit(uint32_t type, uint64_t ino, uint64_t off, uint64_t len, uint64_t aux, const char *path, size_t path_bytes,
                 const struct iovec *data, int data_count) {
  struct rec h = {type, (uint32_t)path_bytes, ++seq, ino, off, len, aux};
  struct iovec iov[66];
  int n = 0;
  iov[n].iov_base = &h; iov[n++].iov_len = sizeof h;
  if (path_bytes > 0) { iov[n].iov_base = (void *)path; iov[n++].iov_len = path_bytes; }
  for (int i = 0; i < data_count && n < 66; i++) iov[n++] = data[i];
  /* writev to an O_APPEND file: loop over short writes */
  int first = 0;
  while (first < n) {
    ssize_t w = real_writev(journal_fd, iov + first, n - first);
    if (w < 0) { if (errno == EINTR) continue; abort(); }
    while (first < n && (size_t)w >= iov[first].iov_len) { w -= iov[first].iov_len; first++; }
    if (first < n) { iov[first].iov_base = (char *)iov[first].iov_base + w; iov[first].iov_len -= w; }
  }
}

static void emit_path(uint32_t type, const char *path, uint64_t aux) { emit(type, 0, 0, 0, aux, path, strlen(path), NULL, 0); }

static void note_open(int fd, const char *abs, int flags, int created) {
  if (fd < 0 || fd >= MAX_FD) return;
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  struct fdinfo *f = &fds[fd];
  free(f->path);
  f->tracked = 1;
  f->ino = st.st_ino;
  f->isdir = S_ISDIR(st.st_mode);
  f->dsync = (flags & (O_SYNC | O_DSYNC)) != 0;
  f->path = f->isdir ? strdup(abs) : NULL;
  emit(R_OPEN, st.st_ino, (uint64_t)flags, 0, (created ? 1 : 0) | (f->isdir ? 2 : 0), abs, strlen(abs), NULL, 0);
  if ((flags & O_TRUNC) && !f->isdir && !created) emit(R_TRUNC, st.st_ino, 0, 0, 0, NULL, 0, NULL, 0);
}

/* The common body of every open variant. */
static int do_open(int dirfd, const char *path, int flags, mode_t mode, int (*call)(void)) {
  char abs[PATH_MAX];
  if (!active() || absolute(dirfd, path, abs) != 0 || !(under(abs) || is_parent(abs))) return call();
  pthread_mutex_lock(&mu);
  int existed = 0;
  if (flags & O_CREAT) { struct stat st; existed = stat(abs, &st) == 0; }
  int fd = call();
  if (fd >= 0) note_open(fd, abs, flags, (flags & O_CREAT) && !existed);
  pthread_mutex_unlock(&mu);
  (void)mode;
  return fd;
}

#define MODE_ARG(flags)                                            \
  mode_t mode = 0;                                                 \
  if ((flags) & (O_CREAT | O_TMPFILE)) {                           \
    va_list ap; va_start(ap, flags); mode = va_arg(ap, int); va_end(ap); \
  }

/* GCC nested functions would need an executable stack; pass the call as a small closure instead. */
static __thread struct { int kind, dirfd, flags; const char *path; mode_t mode; } pending;
static int call_pending(void) {
  switch (pending.kind) {
    case 0: return real_open(pending.path, pending.flags, pending.mode);
    case 1: return real_open64(pending.path, pending.flags, pending.mode);
    case 2: return real_openat(pending.dirfd, pending.path, pending.flags, pending.mode);
    case 3: return real_openat64(pending.dirfd, pending.path, pending.flags, pending.mode);
    case 4: return real_creat(pending.path, pending.mode);
    default: return real_creat64(pending.path, pending.mode);
  }
}
static int open_kind(int kind, int dirfd, const char *path, int flags, mode_t mode) {
  pending.kind = kind; pending.dirfd = dirfd; pending.path = path; pending.flags = flags; pending.mode = mode;
  return do_open(dirfd, path, flags, mode, call_pending);
}

int open(const char *path, int flags, ...) { MODE_ARG(flags); return open_kind(0, AT_FDCWD, path, flags, mode); }
int open64(const char *path, int flags, ...) { MODE_ARG(flags); return open_kind(1, AT_FDCWD, path, flags, mode); }
int openat(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return open_kind(2, dirfd, path, flags, mode); }
int openat64(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return open_kind(3, dirfd, path, flags, mode); }
int __open_2(const char *path, int flags) { return open_kind(0, AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return open_kind(1, AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char *path, int flags) { return open_kind(2, dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags) { return open_kind(3, dirfd, path, flags, 0); }
int creat(const char *path, mode_t mode) { return open_kind(4, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open_kind(5, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

static int all_zero(const struct iovec *iov, int n, size_t total) {
  for (int i = 0; i < n && total > 0; i++) {
    size_t l = iov[i].iov_len < total ? iov[i].iov_len : total;
    const unsigned char *p = iov[i].iov_base;
    for (size_t k = 0; k < l; k++) if (p[k]) return 0;
    total -= l;
  }
  return 1;
}

/* Records `done` bytes of `iov` written at `off` to tracked fd `fd` (caller holds mu). */
static void note_write(int fd, const struct iovec *iov, int n, off64_t off, ssize_t done) {
  if (done <= 0) return;
  size_t total = (size_t)done;
  struct iovec cut[64];
  int m = 0;
  size_t left = total;
  for (int i = 0; i < n && left > 0; i++) {
    if (m == 64) {
      /* more pieces than one record holds: emit what we have, continue at the next offset */
      size_t sofar = total - left;
      emit(R_WRITE, fds[fd].ino, off, sofar, (all_zero(cut, m, sofar) ? 1 : 0) | (fds[fd].dsync ? 2 : 0), NULL, 0,
           all_zero(cut, m, sofar) ? NULL : cut, all_zero(cut, m, sofar) ? 0 : m);
      note_write(fd, iov + i, n - i, off + sofar, left);
      return;
    }
    cut[m].iov_base = iov[i].iov_base;
    cut[m].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
    left -= cut[m].iov_len;
    m++;
  }
  int zero = all_zero(cut, m, total);
  emit(R_WRITE, fds[fd].ino, off, total, (zero ? 1 : 0) | (fds[fd].dsync ? 2 : 0), NULL, 0, zero ? NULL : cut, zero ? 0 : m);
}

ssize_t write(int fd, const void *buf, size_t count) {
  if (!tracked(fd)) return real_write(fd, buf, count);
  pthread_mutex_lock(&mu);
  ssize_t r = real_write(fd, buf, count);
  if (r > 0) {
    off64_t end = lseek64(fd, 0, SEEK_CUR);
    struct iovec v = {(void *)buf, (size_t)r};
    note_write(fd, &v, 1, end - r, r);
  }
  int e = errno;
  pthread_mutex_unlock(&mu);
  errno = e;
  return r;
}

#define PWRITE_BODY(call, offexpr)                         \
  if (!tracked(fd)) return call;                           \
  pthread_mutex_lock(&mu);                                 \
  ssize_t r = call;                                        \
  int e = errno;                                           \
  if (r > 0) { struct iovec v = {(void *)buf, (size_t)r}; note_write(fd, &v, 1, offexpr, r); } \
  pthread_mutex_unlock(&mu);                               \
  errno = e;                                               \
  return r;

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) { PWRITE_BODY(real_pwrite(fd, buf, count, off), off) }
ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off) { PWRITE_BODY(real_pwrite64(fd, buf, count, off), off) }

#define PWRITEV_BODY(call, offexpr)                        \
  if (!tracked(fd)) return call;                           \
  pthread_mutex_lock(&mu);                                 \
  ssize_t r = call;                                        \
  int e = errno;                                           \
  if (r > 0) note_write(fd, iov, n, offexpr, r);           \
  pthread_mutex_unlock(&mu);                               \
  errno = e;                                               \
  return r;

ssize_t writev(int fd, const struct iovec *iov, int n) {
  if (!tracked(fd)) return real_writev(fd, iov, n);
  pthread_mutex_lock(&mu);
  ssize_t r = real_writev(fd, iov, n);
  int e = errno;
  if (r > 0) note_write(fd, iov, n, lseek64(fd, 0, SEEK_CUR) - r, r);
  pthread_mutex_unlock(&mu);
  errno = e;
  return r;
}
ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off) { PWRITEV_BODY(real_pwritev(fd, iov, n, off), off) }
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t off) { PWRITEV_BODY(real_pwritev64(fd, iov, n, off), off) }
ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags) {
  if (off == -1) { /* current position */
    if (!tracked(fd)) return real_pwritev2(fd, iov, n, off, flags);
    pthread_mutex_lock(&mu);
    ssize_t r = real_pwritev2(fd, iov, n, off, flags);
    int e = errno;
    if (r > 0) note_write(fd, iov, n, lseek64(fd, 0, SEEK_CUR) - r, r);
    pthread_mutex_unlock(&mu);
    errno = e;
    return r;
  }
  PWRITEV_BODY(real_pwritev2(fd, iov, n, off, flags), off)
}
ssize_t pwritev64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags) {
  if (off == -1) return pwritev2(fd, iov, n, -1, flags);
  PWRITEV_BODY(real_pwritev64v2(fd, iov, n, off, flags), off)
}

#define TRUNC_BODY(call)                                   \
  if (!tracked(fd)) return call;                           \
  pthread_mutex_lock(&mu);                                 \
  int r = call;                                            \
  int e = errno;                                           \
  if (r == 0) emit(R_TRUNC, fds[fd].ino, 0, (uint64_t)len, 0, NULL, 0, NULL, 0); \
  pthread_mutex_unlock(&mu);                               \
  errno = e;                                               \
  return r;

int ftruncate(int fd, off_t len) { TRUNC_BODY(real_ftruncate(fd, len)) }
int ftruncate64(int fd, off64_t len) { TRUNC_BODY(real_ftruncate64(fd, len)) }

static int path_truncate(const char *path, off64_t len, int (*call)(void)) {
  char abs[PATH_MAX];
  if (!active() || absolute(AT_FDCWD, path, abs) != 0 || !under(abs)) return call();
  pthread_mutex_lock(&mu);
  struct stat st;
  int ok = stat(abs, &st) == 0;
  int r = call();
  int e = errno;
  if (r == 0 && ok) emit(R_TRUNC, st.st_ino, 0, (uint64_t)len, 0, NULL, 0, NULL, 0);
  pthread_mutex_unlock(&mu);
  errno = e;
  return r;
}
static __thread struct { const char *path; off64_t len; int wide; } ptrunc;
static int call_ptrunc(void) { return ptrunc.wide ? real_truncate64(ptrunc.path, ptrunc.len) : real_truncate(ptrunc.path, ptrunc.len); }
int truncate(const char *path, off_t len) { ptrunc.path = path; ptrunc.len = len; ptrunc.wide = 0; return path_truncate(path, len, call_ptrunc); }
int truncate64(const char *path, off64_t len) { ptrunc.path = path; ptrunc.len = len; ptrunc.wide = 1; return path_truncate(path, len, call_ptrunc); }

#define FALLOC_BODY(call, mode)                            \
  if (!tracked(fd)) return call;                           \
  pthread_mutex_lock(&mu);                                 \
  int r = call;                                            \
  int e = errno;                                           \
  if (r == 0) emit(R_FALLOC, fds[fd].ino, (uint64_t)off, (uint64_t)len, (uint64_t)(mode), NULL, 0, NULL, 0); \
  pthread_mutex_unlock(&mu);                               \
  errno = e;                                               \
  return r;
int fallocate(int fd, int mode, off_t off, off_t len) { FALLOC_BODY(real_fallocate(fd, mode, off, len), mode) }
int fallocate64(int fd, int mode, off64_t off, off64_t len) { FALLOC_BODY(real_fallocate64(fd, mode, off, len), mode) }
int posix_fallocate(int fd, off_t off, off_t len) { FALLOC_BODY(real_posix_fallocate(fd, off, len), 0) }
int posix_fallocate64(int fd, off64_t off, off64_t len) { FALLOC_BODY(real_posix_fallocate64(fd, off, len), 0) }

/* A sync covers what was written before it started: take the seq first, call, then record. */
static int do_sync(int fd, int data_only) {
  int (*call)(int) = data_only ? real_fdatasync : real_fsync;
  if (!tracked(fd)) return call(fd);
  pthread_mutex_lock(&mu);
  uint64_t covers = seq;
  pthread_mutex_unlock(&mu);
  int r = call(fd);
  int e = errno;
  if (r == 0) {
    pthread_mutex_lock(&mu);
    if (fds[fd].isdir) emit(R_DIRSYNC, fds[fd].ino, 0, 0, covers, fds[fd].path, strlen(fds[fd].path), NULL, 0);
    else emit(R_SYNC, fds[fd].ino, data_only ? 1 : 0, 0, covers, NULL, 0, NULL, 0);
    pthread_mutex_unlock(&mu);
  }
  errno = e;
  return r;
}
int fsync(int fd) { return do_sync(fd, 0); }
int fdatasync(int fd) { return do_sync(fd, 1); }

static void sync_all_begin(uint64_t *covers) { pthread_mutex_lock(&mu); *covers = seq; pthread_mutex_unlock(&mu); }
static void sync_all_end(uint64_t covers) { pthread_mutex_lock(&mu); emit(R_SYNCALL, 0, 0, 0, covers, NULL, 0, NULL, 0); pthread_mutex_unlock(&mu); }
int syncfs(int fd) {
  if (!active()) return real_syncfs(fd);
  uint64_t c; sync_all_begin(&c);
  int r = real_syncfs(fd);
  int e = errno;
  if (r == 0) sync_all_end(c);
  errno = e;
  return r;
}
void sync(void) {
  if (!active()) { real_sync(); return; }
  uint64_t c; sync_all_begin(&c);
  real_sync();
  sync_all_end(c);
}

static void unsupported(const char *what, int fd) {
  char text[PATH_MAX + 64];
  snprintf(text, sizeof text, "%s fd=%d ino=%llu", what, fd, (unsigned long long)fds[fd].ino);
  pthread_mutex_lock(&mu);
  emit(R_UNSUPPORTED, fds[fd].ino, 0, 0, 0, text, strlen(text), NULL, 0);
  pthread_mutex_unlock(&mu);
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags) {
  if (tracked(fd)) unsupported("sync_file_range (no durability: not counted as a sync)", fd);
  return real_sync_file_range(fd, off, n, flags);
}
int msync(void *addr, size_t len, int flags) {
  /* Only shared writable maps of tracked files matter, and those are reported at mmap. */
  return real_msync(addr, len, flags);
}
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (tracked(fd) && (prot & PROT_WRITE) && (flags & MAP_SHARED)) unsupported("shared writable mmap (writes through it are not journaled)", fd);
  return real_mmap(addr, len, prot, flags, fd, off);
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
  if (tracked(fd) && (prot & PROT_WRITE) && (flags & MAP_SHARED)) unsupported("shared writable mmap (writes through it are not journaled)", fd);
  return real_mmap64(addr, len, prot, flags, fd, off);
}
ssize_t copy_file_range(int in, off64_t *inoff, int out, off64_t *outoff, size_t len, unsigned int flags) {
  if (tracked(out)) unsupported("copy_file_range into a tracked file (not journaled)", out);
  return real_copy_file_range(in, inoff, out, outoff, len, flags);
}
ssize_t sendfile(int out, int in, off_t *off, size_t count) {
  if (tracked(out)) unsupported("sendfile into a tracked file (not journaled)", out);
  return real_sendfile(out, in, off, count);
}
ssize_t sendfile64(int out, int in, off64_t *off, size_t count) {
  if (tracked(out)) unsupported("sendfile into a tracked file (not journaled)", out);
  return real_sendfile64(out, in, off, count);
}

/* Directory operations: recorded with absolute paths when either side is tracked. */
static int dir_op2(uint32_t type, int fd1, const char *p1, int fd2, const char *p2, int r_of_call, int e_of_call, int valid) {
  (void)fd1; (void)fd2;
  if (valid && r_of_call == 0) {
    char a[PATH_MAX], b[PATH_MAX];
    if (absolute(fd1, p1, a) == 0 && (p2 == NULL || absolute(fd2, p2, b) == 0) && (under(a) || (p2 != NULL && under(b)))) {
      if (p2 == NULL) {
        emit_path(type, a, 0);
      } else {
        size_t la = strlen(a), lb = strlen(b);
        char *both = malloc(la + 1 + lb);
        memcpy(both, a, la); both[la] = 0; memcpy(both + la + 1, b, lb);
        emit(type, 0, 0, 0, 0, both, la + 1 + lb, NULL, 0);
        free(both);
      }
    }
  }
  errno = e_of_call;
  return r_of_call;
}

#define DIR_OP(type, fd1, p1, fd2, p2, call)               \
  if (!active()) return call;                              \
  pthread_mutex_lock(&mu);                                 \
  int r = call;                                            \
  int e = errno;                                           \
  r = dir_op2(type, fd1, p1, fd2, p2, r, e, 1);            \
  pthread_mutex_unlock(&mu);                               \
  errno = e;                                               \
  return r;

int rename(const char *a, const char *b) { DIR_OP(R_RENAME, AT_FDCWD, a, AT_FDCWD, b, real_rename(a, b)) }
int renameat(int fa, const char *a, int fb, const char *b) { DIR_OP(R_RENAME, fa, a, fb, b, real_renameat(fa, a, fb, b)) }
int renameat2(int fa, const char *a, int fb, const char *b, unsigned int fl) { DIR_OP(R_RENAME, fa, a, fb, b, real_renameat2(fa, a, fb, b, fl)) }
int unlink(const char *a) { DIR_OP(R_UNLINK, AT_FDCWD, a, AT_FDCWD, NULL, real_unlink(a)) }
int unlinkat(int fa, const char *a, int fl) {
  DIR_OP((fl & AT_REMOVEDIR) ? R_RMDIR : R_UNLINK, fa, a, AT_FDCWD, NULL, real_unlinkat(fa, a, fl))
}
int mkdir(const char *a, mode_t m) { DIR_OP(R_MKDIR, AT_FDCWD, a, AT_FDCWD, NULL, real_mkdir(a, m)) }
int mkdirat(int fa, const char *a, mode_t m) { DIR_OP(R_MKDIR, fa, a, AT_FDCWD, NULL, real_mkdirat(fa, a, m)) }
int rmdir(const char *a) { DIR_OP(R_RMDIR, AT_FDCWD, a, AT_FDCWD, NULL, real_rmdir(a)) }

static void forget(int fd) {
  if (fd < 0 || fd >= MAX_FD) return;
  free(fds[fd].path);
  memset(&fds[fd], 0, sizeof fds[fd]);
}
static void copy_fd(int from, int to) {
  if (to < 0 || to >= MAX_FD || from < 0 || from >= MAX_FD) return;
  forget(to);
  fds[to] = fds[from];
  if (fds[from].path) fds[to].path = strdup(fds[from].path);
}
int close(int fd) {
  if (!active() || fd < 0 || fd >= MAX_FD) return real_close(fd);
  pthread_mutex_lock(&mu);
  forget(fd);
  int r = real_close(fd);
  int e = errno;
  pthread_mutex_unlock(&mu);
  errno = e;
  return r;
}
int dup(int fd) {
  if (!tracked(fd)) return real_dup(fd);
  pthread_mutex_lock(&mu);
  int r = real_dup(fd);
  if (r >= 0) copy_fd(fd, r);
  pthread_mutex_unlock(&mu);
  return r;
}
int dup2(int fd, int to) {
  if (!active()) return real_dup2(fd, to);
  pthread_mutex_lock(&mu);
  int r = real_dup2(fd, to);
  if (r >= 0 && fd != to) { if (fd < MAX_FD && fds[fd].tracked) copy_fd(fd, r); else forget(r); }
  pthread_mutex_unlock(&mu);
  return r;
}
int dup3(int fd, int to, int flags) {
  if (!active()) return real_dup3(fd, to, flags);
  pthread_mutex_lock(&mu);
  int r = real_dup3(fd, to, flags);
  if (r >= 0) { if (fd < MAX_FD && fds[fd].tracked) copy_fd(fd, r); else forget(r); }
  pthread_mutex_unlock(&mu);
  return r;
}
