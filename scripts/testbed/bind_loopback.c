/* LD_PRELOAD shim used by up.sh for the daemons that cannot be told where
 * to listen: slurmdbd (binds INADDR_ANY whatever DbdAddr and
 * CommunicationParameters say) and Grid Engine's sge_qmaster / sge_execd
 * (commlib binds INADDR_ANY). It rewrites a bind() to the wildcard address
 * into a bind() to the loopback address of the same family, so the testbed
 * never listens outside 127.0.0.1 / ::1. Every other bind() is untouched.
 *
 * TESTBED_BIND_ADDR (an IPv4 loopback address, default 127.0.0.1) picks the
 * IPv4 address: Grid Engine's clients connect to whatever the host name
 * resolves to, which is 127.0.1.1 on a stock Debian /etc/hosts.
 *
 * The constructor drops LD_PRELOAD and TESTBED_BIND_ADDR from the
 * environment once the shim is loaded, so the daemon's children (job
 * shepherds, jobs) do not inherit them.
 *
 *   cc -shared -fPIC -O2 -o bind_loopback.so bind_loopback.c -ldl
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static in_addr_t bind_addr4;  // network byte order

__attribute__((constructor)) static void init(void) {
  struct in_addr a;
  const char *want = getenv("TESTBED_BIND_ADDR");
  bind_addr4 = htonl(INADDR_LOOPBACK);
  if (want != NULL && inet_pton(AF_INET, want, &a) == 1 &&
      (ntohl(a.s_addr) >> 24) == 127) {
    bind_addr4 = a.s_addr;
  }
  unsetenv("LD_PRELOAD");
  unsetenv("TESTBED_BIND_ADDR");
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind;
  if (real_bind == NULL) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
  if (addr != NULL && addr->sa_family == AF_INET &&
      len >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in in4;
    memcpy(&in4, addr, sizeof in4);
    if (in4.sin_addr.s_addr == htonl(INADDR_ANY)) {
      in4.sin_addr.s_addr = bind_addr4;
      return real_bind(fd, (const struct sockaddr *)&in4, sizeof in4);
    }
  } else if (addr != NULL && addr->sa_family == AF_INET6 &&
             len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 in6;
    memcpy(&in6, addr, sizeof in6);
    if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) {
      in6.sin6_addr = in6addr_loopback;
      return real_bind(fd, (const struct sockaddr *)&in6, sizeof in6);
    }
  }
  return real_bind(fd, addr, len);
}
