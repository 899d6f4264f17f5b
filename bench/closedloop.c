// Closed-loop HTTP/1.1 load generator in C for bench/key-create.sh (issue 4: POST /api/keys at 32
// concurrent callers). Each connection is one caller with its own bearer token (its own account):
// it sends its next create when the answer to the last one has arrived (keep-alive, one request in
// flight per connection). Every request has a unique key name. One thread, epoll, no allocation per
// request: the Java (Vert.x) generator cost 0.38-0.46 ms of CPU per create on the two CPUs it
// shares with the system under test, this one a small fraction of that.
//
//   cc -O2 -o closedloop bench/closedloop.c
//   closedloop HOST PORT TOTAL TOKENS_FILE OUT_FILE TAG
//     TOKENS_FILE: one bearer token a line, one connection per token
//     TAG: makes the names unique across runs against the same accounts ("bench TAG-conn-seq")
//
// OUT_FILE gets one line per request: "status latency_ns done_ns id" (done_ns on CLOCK_MONOTONIC,
// the clock of Java's System.nanoTime, so the caller can match it with the event's arrival on
// Kafka; id = the key id of a 201 answer, "-" otherwise). The summary on stdout is one line:
// "nanos= done= created= other= errors= cpu_us=" (cpu_us: this process's user+sys CPU).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_SIZE (256 * 1024)

typedef struct {
  int fd;
  int idx;
  int busy;
  long t0;
  char *head;      // request line and headers up to "Content-Length: "
  int head_len;
  char out[4096];  // the request being sent
  int out_len, out_off;
  char *in;
  int have;
  long seq;
} conn_t;

static struct sockaddr_in addr;
static const char *tag;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int open_conn(int ep, conn_t *c) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) return -1;  // blocking, once
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

// Complete answer length at the start of c->in (Content-Length or chunked), 0 if incomplete, -1 bad.
static long complete(conn_t *c, int *status, char **body, long *body_len) {
  char *end = memmem(c->in, c->have, "\r\n\r\n", 4);
  if (!end) return c->have >= IN_SIZE ? -1 : 0;
  if (c->have < 12 || memcmp(c->in, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(c->in + 9);
  long clen = -1;
  int chunked = 0;
  for (char *h = c->in; h < end; h++) {
    if (*h != '\n') continue;
    if (strncasecmp(h + 1, "content-length:", 15) == 0) clen = atol(h + 16);
    if (strncasecmp(h + 1, "transfer-encoding:", 18) == 0 && memmem(h, end - h, "chunked", 7))
      chunked = 1;
  }
  char *b = end + 4;
  char *lim = c->in + c->have;
  if (!chunked) {
    if (clen < 0) clen = 0;
    if (b + clen > lim) return 0;
    *body = b;
    *body_len = clen;
    return (b - c->in) + clen;
  }
  // chunked: the id is in the first chunk; find the terminating zero-size chunk
  char *p = b;
  char *first = NULL;
  long first_len = 0;
  while (1) {
    char *eol = memmem(p, lim - p, "\r\n", 2);
    if (!eol) return 0;
    long size = strtol(p, NULL, 16);
    if (size == 0) {
      if (lim - eol < 4) return 0;  // the empty trailer's CRLF
      *body = first;
      *body_len = first_len;
      return (eol + 4) - c->in;
    }
    if (eol + 2 + size + 2 > lim) return 0;
    if (!first) {
      first = eol + 2;
      first_len = size;
    }
    p = eol + 2 + size + 2;
  }
}

static void send_next(conn_t *c) {
  char body[256];
  int blen = snprintf(body, sizeof body, "{\"name\":\"bench %s-%d-%ld\",\"group\":\"default\"}", tag,
                      c->idx, c->seq++);
  memcpy(c->out, c->head, c->head_len);
  c->out_len = c->head_len + sprintf(c->out + c->head_len, "%d\r\n\r\n%s", blen, body);
  c->out_off = 0;
  c->have = 0;
  c->busy = 1;
  c->t0 = now_ns();
  while (c->out_off < c->out_len) {
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (w <= 0) {
      if (errno == EINTR) continue;
      perror("write");
      exit(1);
    }
    c->out_off += (int)w;
  }
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: %s HOST PORT TOTAL TOKENS_FILE OUT_FILE TAG\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const char *host = argv[1];
  int port = atoi(argv[2]);
  long total = atol(argv[3]);
  tag = argv[6];
  FILE *tf = fopen(argv[4], "r");
  if (!tf) {
    perror(argv[4]);
    return 2;
  }
  FILE *out = fopen(argv[5], "w");
  if (!out) {
    perror(argv[5]);
    return 2;
  }
  static char line[16384];
  conn_t *conns = NULL;
  int n = 0;
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "HOST must be an IPv4 address\n");
    return 2;
  }
  int ep = epoll_create1(0);
  while (fgets(line, sizeof line, tf)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    conns = realloc(conns, sizeof(conn_t) * (n + 1));
    conn_t *c = &conns[n];
    memset(c, 0, sizeof *c);
    c->idx = n;
    c->head = malloc(strlen(line) + 512);
    c->head_len = sprintf(c->head,
                          "POST /api/keys HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: application/json\r\nContent-Length: ",
                          host, port, line);
    c->in = malloc(IN_SIZE + 1);
    n++;
  }
  fclose(tf);
  if (n == 0) {
    fprintf(stderr, "no tokens\n");
    return 2;
  }
  for (int i = 0; i < n; i++) {
    if (open_conn(ep, &conns[i]) < 0) {
      perror("connect");
      return 1;
    }
  }
  long started = 0, done = 0, created = 0, other = 0, errors = 0;
  long start = now_ns();
  for (int i = 0; i < n && started < total; i++, started++) send_next(&conns[i]);
  struct epoll_event evs[256];
  while (done < total) {
    int k = epoll_wait(ep, evs, 256, 30000);
    if (k == 0) {
      fprintf(stderr, "closedloop: no answer for 30 s (%ld of %ld done)\n", done, total);
      break;
    }
    for (int e = 0; e < k; e++) {
      conn_t *c = evs[e].data.ptr;
      ssize_t got = read(c->fd, c->in + c->have, IN_SIZE - c->have);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        fprintf(stderr, "closedloop: connection %d closed by the server\n", c->idx);
        return 1;
      }
      c->have += (int)got;
      int status = 0;
      char *body = NULL;
      long body_len = 0;
      long len = complete(c, &status, &body, &body_len);
      if (len == 0) continue;
      long t = now_ns();
      if (len < 0) {
        fprintf(stderr, "closedloop: unreadable answer on connection %d\n", c->idx);
        return 1;
      }
      char id[64] = "-";
      if (status == 201 && body) {
        char *at = memmem(body, body_len < 512 ? body_len : 512, "\"id\":\"", 6);
        if (at) {
          at += 6;
          char *q = memchr(at, '"', body + body_len - at);
          if (q && q - at < (long)sizeof id) {
            memcpy(id, at, q - at);
            id[q - at] = 0;
          }
        }
        created++;
      } else {
        if (other + errors < 5) {
          fprintf(stderr, "closedloop: create answered %d: %.*s\n", status,
                  (int)(body_len < 300 ? body_len : 300), body ? body : "");
        }
        other++;
      }
      fprintf(out, "%d %ld %ld %s\n", status, t - c->t0, t, id);
      done++;
      c->busy = 0;
      if (len != c->have) {
        fprintf(stderr, "closedloop: extra bytes after an answer on connection %d\n", c->idx);
        return 1;
      }
      if (started < total) {
        started++;
        send_next(c);
      }
    }
  }
  long nanos = now_ns() - start;
  fclose(out);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long cpu_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L +
                ru.ru_stime.tv_usec;
  printf("nanos=%ld done=%ld created=%ld other=%ld errors=%ld cpu_us=%ld\n", nanos, done, created,
         other, errors + (total - done), cpu_us);
  return done == total ? 0 : 1;
}
