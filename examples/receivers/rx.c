// A minimal netlab `exec` receiver in C: one AF_PACKET socket, one recvfrom(2) per frame.
//
//   cc -O2 -Wall -o rx rx.c
//   [[receiver]]
//   method = "exec"
//   name = "my-c-rx"
//   command = "./rx {iface}"
//
// The contract (docs/exec-receiver.md):
// - netlab starts it inside the lab's namespace, pinned to the receive core, stdout a pipe;
// - it prints READY once its socket is bound (within 5 s), then netlab starts the traffic;
// - on SIGINT it prints `RESULT-RX <frames>` and `RESULT-IP <IPv4 frames>` and exits 0;
// - it dies with netlab (SIGKILL from the kernel), so it must not leave anything behind that
//   the kernel does not clean up itself.
//
// do_something: bytes 12-13 of the Ethernet header == 0x0800 → one more IPv4 frame.

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_sigint(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s IFACE\n", argv[0]);
    return 2;
  }
  unsigned int ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) {
    fprintf(stderr, "rx: no interface %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) {
    perror("rx: socket(AF_PACKET)");
    return 1;
  }
  struct sockaddr_ll addr = {
      .sll_family = AF_PACKET,
      .sll_protocol = htons(ETH_P_ALL),
      .sll_ifindex = (int)ifindex,
  };
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    perror("rx: bind");
    return 1;
  }
  // No SA_RESTART: SIGINT interrupts the blocking recvfrom with EINTR.
  struct sigaction sa = {.sa_handler = on_sigint};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);

  printf("READY\n");
  fflush(stdout);

  uint64_t frames = 0, ipv4 = 0;
  unsigned char buf[2048];
  while (!stop) {
    struct sockaddr_ll from;
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror("rx: recvfrom");
      return 1;
    }
    if (from.sll_pkttype == PACKET_OUTGOING)
      continue;
    frames++;
    if (n >= 14 && buf[12] == 0x08 && buf[13] == 0x00)
      ipv4++;
  }
  printf("RESULT-RX %llu\nRESULT-IP %llu\n", (unsigned long long)frames,
         (unsigned long long)ipv4);
  return 0;
}
