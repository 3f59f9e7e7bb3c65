// xsk_rx: a straightforward libxdp AF_XDP receiver, the anchor fastnet:3 is measured against
// (issue 4): copy mode (XDP_COPY), the redirect program in driver mode (XDP_FLAGS_DRV_MODE,
// libxdp's default program), 64-frame batches, poll(2) when the rx ring is empty, and the
// same do_something as every netlab method: bytes 12-13 == 0x0800 → count IPv4.
//
//   xsk_rx [--sched-batch] IFACE [FRAMES]
//
// FRAMES: UMEM frames, fill and rx ring entries (default 4096). --sched-batch switches the
// receiver to SCHED_BATCH first, as fastnet:3 does by default: woken by arriving frames, it
// then waits for the NAPI kthread it shares the core with instead of preempting it. With
// --sched-batch and 16384 frames this is fastnet:3's configuration, in C, for comparison.
//
// Speaks netlab's exec protocol: prints READY once the socket is bound, receives until SIGINT
// (or SIGTERM), then prints RESULT-RX <frames>, RESULT-IP <ipv4> and the socket's
// XDP_STATISTICS as RESULT-RX_DROPPED, RESULT-RX_RING_FULL, RESULT-FILL_RING_EMPTY.
//
// Built by scripts/bench-receivers: cc -O2 -o xsk_rx xsk_rx.c -lxdp -lbpf
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_link.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#define FRAME_SIZE 2048
#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  int sched_batch = argc > 1 && strcmp(argv[1], "--sched-batch") == 0;
  argc -= sched_batch;
  argv += sched_batch;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: xsk_rx [--sched-batch] IFACE [FRAMES]\n");
    return 2;
  }
  const char *ifname = argv[1];
  unsigned frames = argc == 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 4096;
  if (sched_batch) {
    struct sched_param param = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
      perror("xsk_rx: sched_setscheduler(SCHED_BATCH)");
      return 1;
    }
  }
  if (frames < BATCH || (frames & (frames - 1)) != 0) {
    fprintf(stderr, "xsk_rx: FRAMES must be a power of two >= %d\n", BATCH);
    return 2;
  }

  // No SA_RESTART: poll() returns EINTR and the loop sees `stop`.
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  size_t umem_len = (size_t)frames * FRAME_SIZE;
  void *buf = mmap(NULL, umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
  if (buf == MAP_FAILED) {
    perror("xsk_rx: mmap");
    return 1;
  }
  struct xsk_ring_prod fq;
  struct xsk_ring_cons cq, rx;
  struct xsk_umem *umem;
  struct xsk_socket *xsk;
  struct xsk_umem_config uc = {
      .fill_size = frames, .comp_size = 32, .frame_size = FRAME_SIZE, .frame_headroom = 0};
  struct xsk_socket_config sc = {.rx_size = frames,
                                 .tx_size = 0,
                                 .xdp_flags = XDP_FLAGS_DRV_MODE,
                                 .bind_flags = XDP_COPY};
  // A queue stays busy for a moment after the previous socket on it closed (the kernel frees
  // its buffer pool from a work queue): retry EBUSY for up to a second, as fastnet:3 does.
  for (int attempt = 0;; attempt++) {
    int r = xsk_umem__create(&umem, buf, umem_len, &fq, &cq, &uc);
    if (r) {
      fprintf(stderr, "xsk_rx: xsk_umem__create: %s\n", strerror(-r));
      return 1;
    }
    r = xsk_socket__create(&xsk, ifname, 0, umem, &rx, NULL, &sc);
    if (!r) break;
    xsk_umem__delete(umem);
    if (r != -EBUSY || attempt >= 100) {
      fprintf(stderr, "xsk_rx: xsk_socket__create on %s: %s\n", ifname, strerror(-r));
      return 1;
    }
    usleep(10000);
  }
  __u32 idx;
  unsigned n = xsk_ring_prod__reserve(&fq, frames, &idx);
  for (unsigned i = 0; i < n; i++) *xsk_ring_prod__fill_addr(&fq, idx + i) = (__u64)i * FRAME_SIZE;
  xsk_ring_prod__submit(&fq, n);
  printf("READY\n");
  fflush(stdout);

  struct pollfd pfd = {.fd = xsk_socket__fd(xsk), .events = POLLIN};
  unsigned long long rx_frames = 0, ipv4 = 0;
  while (!stop) {
    __u32 ri;
    unsigned got = xsk_ring_cons__peek(&rx, BATCH, &ri);
    if (!got) {
      poll(&pfd, 1, 100);
      continue;
    }
    __u32 fi;
    while (xsk_ring_prod__reserve(&fq, got, &fi) != got)
      ;
    for (unsigned i = 0; i < got; i++) {
      const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, ri + i);
      const unsigned char *f = xsk_umem__get_data(buf, d->addr);
      rx_frames++;
      if (d->len >= 14 && f[12] == 0x08 && f[13] == 0x00) ipv4++;
      *xsk_ring_prod__fill_addr(&fq, fi + i) = xsk_umem__extract_addr(d->addr);
    }
    xsk_ring_prod__submit(&fq, got);
    xsk_ring_cons__release(&rx, got);
  }

  struct xdp_statistics st = {0};
  socklen_t len = sizeof st;
  getsockopt(xsk_socket__fd(xsk), SOL_XDP, XDP_STATISTICS, &st, &len);
  printf("RESULT-RX %llu\nRESULT-IP %llu\n", rx_frames, ipv4);
  printf("RESULT-RX_DROPPED %llu\nRESULT-RX_RING_FULL %llu\nRESULT-FILL_RING_EMPTY %llu\n",
         (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
         (unsigned long long)st.rx_fill_ring_empty_descs);
  fflush(stdout);
  xsk_socket__delete(xsk);
  xsk_umem__delete(umem);
  munmap(buf, umem_len);
  return 0;
}
