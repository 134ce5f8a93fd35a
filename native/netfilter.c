// Netfilter helpers for roam gateway: the original destination of a REDIRECTed connection
// (getsockopt SO_ORIGINAL_DST, which Node cannot call), and one raw TCP segment towards a
// LAN client (to make an idle client answer, so the gateway's REJECT rule can reset it).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "napi_util.h"

// getOriginalDst(fd: number) -> { address: string, port: number }
static napi_value get_original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "getOriginalDst(fd) needs a file descriptor");
    return NULL;
  }
  struct sockaddr_in dst;
  socklen_t len = sizeof dst;
  memset(&dst, 0, sizeof dst);
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) {
    roam_throw_errno(env, errno, "getsockopt", "(SO_ORIGINAL_DST)");
    return NULL;
  }
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
  napi_value obj, addr, port;
  NAPI_OK(env, napi_create_object(env, &obj));
  NAPI_OK(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &addr));
  NAPI_OK(env, napi_create_int32(env, ntohs(dst.sin_port), &port));
  NAPI_OK(env, napi_set_named_property(env, obj, "address", addr));
  NAPI_OK(env, napi_set_named_property(env, obj, "port", port));
  return obj;
}

static uint16_t checksum(const void *data, size_t len, uint32_t sum) {
  const uint8_t *p = data;
  for (; len > 1; len -= 2, p += 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static bool get_ip(napi_env env, napi_value v, struct in_addr *out) {
  char text[64];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &n) != napi_ok ||
      inet_pton(AF_INET, text, out) != 1) {
    napi_throw_type_error(env, NULL, "addresses must be IPv4 strings");
    return false;
  }
  return true;
}

// sendTcpAck(src, sport, dst, dport, seq, ack, mark): one ACK segment with a forged source,
// sent with SO_MARK = mark (so netfilter rules can recognise it; 0: none).
static napi_value send_tcp_ack(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "sendTcpAck(src, sport, dst, dport, seq, ack, mark)");
    return NULL;
  }
  struct in_addr src, dst;
  if (!get_ip(env, argv[0], &src) || !get_ip(env, argv[2], &dst)) return NULL;
  uint32_t sport = 0, dport = 0, seq = 0, ack = 0, mark = 0;
  if (napi_get_value_uint32(env, argv[6], &mark) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &sport) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &dport) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &seq) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &ack) != napi_ok || sport > 65535 || dport > 65535) {
    napi_throw_range_error(env, NULL, "ports must be 0..65535, seq and ack 32-bit");
    return NULL;
  }
  uint8_t pkt[40];
  memset(pkt, 0, sizeof pkt);
  struct iphdr *iph = (struct iphdr *)pkt;
  struct tcphdr *th = (struct tcphdr *)(pkt + 20);
  iph->version = 4;
  iph->ihl = 5;
  iph->ttl = 64;
  iph->protocol = IPPROTO_TCP;
  iph->tot_len = htons(sizeof pkt);
  iph->saddr = src.s_addr;
  iph->daddr = dst.s_addr;
  th->source = htons((uint16_t)sport);
  th->dest = htons((uint16_t)dport);
  th->seq = htonl(seq);
  th->ack_seq = htonl(ack);
  th->doff = 5;
  th->ack = 1;
  th->window = htons(1024);
  uint8_t pseudo[12];
  memcpy(pseudo, &src.s_addr, 4);
  memcpy(pseudo + 4, &dst.s_addr, 4);
  pseudo[8] = 0;
  pseudo[9] = IPPROTO_TCP;
  pseudo[10] = 0;
  pseudo[11] = 20;
  uint32_t sum = 0;
  for (int i = 0; i < 12; i += 2) sum += (uint32_t)(pseudo[i] << 8 | pseudo[i + 1]);
  th->check = htons(checksum(th, 20, sum));
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    roam_throw_errno(env, errno, "socket", "(SOCK_RAW)");
    return NULL;
  }
  if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    int err = errno;
    close(fd);
    roam_throw_errno(env, err, "setsockopt", "(SO_MARK)");
    return NULL;
  }
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_addr = dst;
  ssize_t n = sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to);
  int err = errno;
  close(fd);
  if (n < 0) {
    roam_throw_errno(env, err, "sendto", "(raw TCP segment)");
    return NULL;
  }
  return NULL;
}

// pendingInput(fd) -> bytes in the socket's receive queue not read yet (FIONREAD).
static napi_value pending_input(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "pendingInput(fd) needs a file descriptor");
    return NULL;
  }
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) {
    roam_throw_errno(env, errno, "ioctl", "(FIONREAD)");
    return NULL;
  }
  napi_value out;
  NAPI_OK(env, napi_create_int32(env, n, &out));
  return out;
}

napi_value roam_init_netfilter(napi_env env, napi_value exports) {
  napi_value fn;
  NAPI_OK(env, napi_create_function(env, "pendingInput", NAPI_AUTO_LENGTH, pending_input, NULL,
                                    &fn));
  NAPI_OK(env, napi_set_named_property(env, exports, "pendingInput", fn));
  NAPI_OK(env, napi_create_function(env, "getOriginalDst", NAPI_AUTO_LENGTH, get_original_dst,
                                    NULL, &fn));
  NAPI_OK(env, napi_set_named_property(env, exports, "getOriginalDst", fn));
  NAPI_OK(env, napi_create_function(env, "sendTcpAck", NAPI_AUTO_LENGTH, send_tcp_ack, NULL, &fn));
  NAPI_OK(env, napi_set_named_property(env, exports, "sendTcpAck", fn));
  return exports;
}
