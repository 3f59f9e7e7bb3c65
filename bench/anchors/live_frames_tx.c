// live_frames_tx: a plain C live-frames sender, the anchor netlab's xdp engine is measured
// against at top speed (issue 15): libbpf loads `return bpf_redirect(IFINDEX, 0)` behind the
// same ingress check netlab uses (frames the interface really receives pass), keeps it
// attached to the interface in generic mode so calls skip the dispatcher update, and calls
// BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on one 60-byte frame, REPEAT runs per call,
// 64 frames per inner batch, until SECONDS have passed.
//
//   live_frames_tx IFACE SECONDS [REPEAT]      (REPEAT: runs per call, default 16384)
//
// Prints `SENT <program runs> <ns>` at the end. Count at the receiving side: redirect
// failures are silent.
//
// Built by scripts/bench-generator: cc -O2 -o live_frames_tx live_frames_tx.c -lbpf
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: live_frames_tx IFACE SECONDS [REPEAT]\n");
        return 2;
    }
    int ifindex = (int)if_nametoindex(argv[1]);
    if (ifindex == 0) {
        fprintf(stderr, "live_frames_tx: no interface %s\n", argv[1]);
        return 2;
    }
    double seconds = atof(argv[2]);
    unsigned repeat = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 16384;
    if (seconds <= 0 || repeat == 0) {
        fprintf(stderr, "live_frames_tx: SECONDS and REPEAT must be positive\n");
        return 2;
    }
    // if (ctx->ingress_ifindex != 1 /* lo: test runs */) return XDP_PASS;
    // return bpf_redirect(ifindex, 0);
    struct bpf_insn prog[] = {
        {.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1,
         .off = offsetof(struct xdp_md, ingress_ifindex)},
        {.code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 4, .imm = 1},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = ifindex},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0},
        {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect},
        {.code = BPF_JMP | BPF_EXIT},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
        {.code = BPF_JMP | BPF_EXIT},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, load, .expected_attach_type = BPF_XDP);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "anchor_live", "GPL", prog,
                           sizeof(prog) / sizeof(prog[0]), &load);
    if (fd < 0) {
        fprintf(stderr, "live_frames_tx: program load: %s\n", strerror(-fd));
        return 1;
    }
    LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_SKB_MODE);
    int link = bpf_link_create(fd, ifindex, BPF_XDP, &link_opts);
    if (link < 0)
        fprintf(stderr, "live_frames_tx: not resident (%s): every call pays the dispatcher\n",
                strerror(-link));
    unsigned char frame[60] = {0};
    frame[12] = 0x08; // an IPv4 EtherType; the payload does not matter to the counters
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame),
                .repeat = repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
    unsigned long long start = now_ns();
    unsigned long long end = start + (unsigned long long)(seconds * 1e9);
    unsigned long long sent = 0;
    while (now_ns() < end) {
        int err = bpf_prog_test_run_opts(fd, &run);
        if (err) {
            fprintf(stderr, "live_frames_tx: BPF_PROG_RUN: %s\n", strerror(-err));
            return 1;
        }
        sent += repeat;
    }
    printf("SENT %llu %llu\n", sent, now_ns() - start);
    return 0;
}
