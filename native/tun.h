// Opening tun/tap devices, optionally inside another network namespace.
#ifndef ROAM_TUN_H
#define ROAM_TUN_H

#include <stdbool.h>
#include <stddef.h>

// Outcome of roam_open_tun. On failure fd is -1, err is the errno and what names the step.
typedef struct roam_tun_result {
  int fd;
  char name[16];
  int err;
  const char *what;
  // Set when we could not return to the original namespace: the thread is now in the wrong
  // one, which the caller must treat as fatal.
  bool restore_failed;
} roam_tun_result;

// txqlen > 0 also sets the device's transmit queue length, which for a tun/tap is the ring of
// frames waiting for our read(); the default 500-1000 overflows on bursts at Gbit/s rates.
roam_tun_result roam_open_tun(const char *name, bool tap, const char *netns_path, int txqlen);

#endif
