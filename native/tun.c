// tun/tap creation. The device lands in the namespace of the opener of /dev/net/tun, so
// both open() and TUNSETIFF happen after setns(); only the calling thread moves, and it
// always moves back before returning.
#define _GNU_SOURCE
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void fail(roam_tun_result *r, const char *what) {
  r->err = errno;
  r->what = what;
}

static void open_here(roam_tun_result *r, const char *name, bool tap, int txqlen) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    fail(r, "open /dev/net/tun");
    return;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fail(r, "ioctl TUNSETIFF");
    close(fd);
    return;
  }
  if (txqlen > 0) {
    // Any socket in the device's namespace serves for interface ioctls.
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifr.ifr_qlen = txqlen;
    if (s < 0 || ioctl(s, SIOCSIFTXQLEN, &ifr) < 0) {
      fail(r, s < 0 ? "socket for SIOCSIFTXQLEN" : "ioctl SIOCSIFTXQLEN");
      if (s >= 0) close(s);
      close(fd);
      return;
    }
    close(s);
  }
  r->fd = fd;
  memcpy(r->name, ifr.ifr_name, IFNAMSIZ);
  r->name[IFNAMSIZ - 1] = '\0';
}

roam_tun_result roam_open_tun(const char *name, bool tap, const char *netns_path, int txqlen) {
  roam_tun_result r;
  memset(&r, 0, sizeof r);
  r.fd = -1;
  if (strlen(name) >= IFNAMSIZ) {
    errno = ENAMETOOLONG;
    fail(&r, "interface name");
    return r;
  }
  if (netns_path == NULL) {
    open_here(&r, name, tap, txqlen);
    return r;
  }
  int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) {
    fail(&r, "open /proc/thread-self/ns/net");
    return r;
  }
  int target = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    fail(&r, "open netns");
    close(orig);
    return r;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    fail(&r, "setns into netns");
  } else {
    open_here(&r, name, tap, txqlen);
    int saved = errno;
    if (setns(orig, CLONE_NEWNET) < 0) {
      r.restore_failed = true;
      fail(&r, "setns back to the original netns");
      if (r.fd >= 0) close(r.fd);
      r.fd = -1;
    }
    errno = saved;
  }
  close(target);
  close(orig);
  return r;
}
