# VPN server with a software enclave.
#
#   make            build bin/vpn-server, bin/vpn-enclave, bin/vpn-client and the tools
#   make check      install missing packages, build, run every test (ends "N passed, N failed")
#   make demo       install missing packages, build, run the namespace demo
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        the Debian package (ARCH=amd64|arm64|armhf), in build/deb/
#   make ARCH=arm64 the same for the Raspberry Pi (ARCH=armhf: 32-bit Raspberry Pi OS), built with
#                   Debian's cross compilers into build-ARCH/ (programs in build-ARCH/bin/); see
#                   "Cross builds" below and the README's "ARM builds"
#
# Source lists are wildcards on purpose: one job per file, and adding a file needs no edit here.

CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=

# 64-bit time_t and off_t on 32-bit targets too (armhf: Raspberry Pi OS 32-bit), whose glibc
# otherwise keeps 32-bit ones; no-ops on 64-bit targets. include/vpn/proto.h checks time_t.
STD      := -std=c99 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT      ?= -O2 -g
CFLAGS   += $(STD) $(WARN) $(HARDEN) $(OPT) -Iinclude -pthread $(EXTRA_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now -pthread

LIBS_CRYPTO := -lsodium -lcrypto
LIBS_DB     := -lsqlite3
LIBS_URCU   := -lurcu-qsbr -lurcu-cds -lurcu-common
LIBS_SANDBOX:= -lseccomp -lcap
LIBS_JSON   := -ljansson
LIBS_HTTP   := -lmicrohttpd
# sd_notify for vpn-server under systemd (core/server/service_notify.c); libsystemd0 is on
# every Debian and Raspberry Pi OS system, and without NOTIFY_SOCKET it does nothing.
LIBS_SYSTEMD:= -lsystemd
# QR codes of WireGuard devices' configurations (vpnctl device add: tools/vpnctl/qr_code.c):
# libqrencode encodes, libpng draws the PNG; both Debian's (libqrencode-dev, libpng-dev).
LIBS_QR     := -lqrencode -lpng

B := build
BINDIR := bin

# --- Cross builds (ARCH=arm64 or ARCH=armhf) ---
#
# Debian's cross toolchains against the multiarch -dev packages (tools/install-deps.sh installs
# both). Everything lands in build-ARCH/, so the native build/ and bin/ are never touched and the
# three can be built side by side. The unit tests are built too ("make ARCH=arm64 unit") and run
# under qemu-user by tests/run.sh. Criterion cannot be co-installed for another architecture
# (libnanomsg5 is not Multi-Arch: same) and Debian does not build it for armhf at all, so:
#   arm64  links Debian's own libcriterion3:arm64, unpacked by tools/cross-criterion.sh into
#          CROSS_CRITERION (not installed: it would remove the amd64 one); its test binaries
#          carry that folder as their RPATH. Criterion re-executes the test binary for each
#          test, which under emulation needs qemu registered with binfmt_misc (install-deps).
#   armhf  compiles the same test sources against tests/criterion-lite/, a small runner with
#          the subset of Criterion's API the tests use (one forked child per test).
ARCH ?=
ifneq ($(ARCH),)
TRIPLET_arm64 := aarch64-linux-gnu
TRIPLET_armhf := arm-linux-gnueabihf
TRIPLET := $(TRIPLET_$(ARCH))
ifeq ($(TRIPLET),)
$(error ARCH=$(ARCH): the cross builds are ARCH=arm64 and ARCH=armhf)
endif
CC := $(TRIPLET)-gcc
AR := $(TRIPLET)-ar
B := build-$(ARCH)
BINDIR := $(B)/bin
endif
CROSS_CRITERION ?= /usr/local/lib/vpnse-cross/$(ARCH)

# Raspberry Pi OS's own 32-bit gcc targets plain ARMv6 (the Pi 1 and Zero), which has no
# lock-free 64-bit atomics; include/vpn/counter.h needs them across processes. Every Pi's core
# has ARMv6K's LDREXD/STREXD, so a native build there asks for ARMv6KZ (the Pi 1's ARM1176JZF-S).
ifeq ($(shell $(CC) -dM -E - </dev/null 2>/dev/null | grep -c '^\#define __ARM_ARCH_6__ 1'),1)
CFLAGS += -march=armv6kz+fp
endif

# The AEAD of transport messages (include/vpn/aead.h): AEAD=sodium (libsodium) or AEAD=openssl
# (libcrypto's EVP, NEON assembly on ARM). OpenSSL is the default for ARM targets, cross or
# native, where libsodium's portable C costs about twice its instructions per byte
# (docs/PERFORMANCE.md); libsodium elsewhere. The same bytes on the wire either way.
ifneq ($(filter aarch64% arm%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
AEAD ?= openssl
else
AEAD ?= sodium
endif
ifeq ($(AEAD),openssl)
CFLAGS += -DVPN_AEAD_OPENSSL
LIBS_CRYPTO += -lcrypto
else ifneq ($(AEAD),sodium)
$(error AEAD=$(AEAD): the choices are AEAD=sodium and AEAD=openssl)
endif
# Tests and benchmarks compare both implementations, whatever AEAD is.
LIBS_BOTH_AEAD := $(LIBS_CRYPTO) -lcrypto

LIB_SRC     := $(wildcard core/lib/*.c)
SERVER_SRC  := $(wildcard core/server/*.c)
ENCLAVE_SRC := $(wildcard enclave/*.c)
CLIENT_SRC  := $(wildcard client/*.c)
TOOL_SRC    := $(wildcard tools/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

LIB_OBJ     := $(LIB_SRC:%.c=$(B)/%.o)
SERVER_OBJ  := $(SERVER_SRC:%.c=$(B)/%.o)
ENCLAVE_OBJ := $(ENCLAVE_SRC:%.c=$(B)/%.o)
CLIENT_OBJ  := $(CLIENT_SRC:%.c=$(B)/%.o)
TOOLS       := $(TOOL_SRC:tools/%.c=$(BINDIR)/%)
UNIT_BINS   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_TOOLS  := $(patsubst tests/tools/%.c,$(B)/tests/tools/%,$(wildcard tests/tools/*.c))

LIBVPN := $(B)/libvpn.a

# vpnctl's commands beyond tools/vpnctl.c (tools/vpnctl/: the WireGuard devices, the server
# link, the wg-quick text and QR codes), in an archive the unit tests link too.
VPNCTL_SRC := $(wildcard tools/vpnctl/*.c)
VPNCTL_OBJ := $(VPNCTL_SRC:%.c=$(B)/%.o)
LIBVPNCTL  := $(B)/libvpnctl.a

# vpn-metrics (tools/metrics/): a program of several files, with the status page's files
# (tools/metrics/www/) compiled in; its formatter is shared with vpnctl (libmetrics.a).
METRICS_SRC := $(wildcard tools/metrics/*.c)
METRICS_OBJ := $(METRICS_SRC:%.c=$(B)/%.o)
WWW_FILES   := $(sort $(wildcard tools/metrics/www/*.*))
LIBMETRICS  := $(B)/libmetrics.a

BINS := $(BINDIR)/vpn-server $(BINDIR)/vpn-enclave $(BINDIR)/vpn-client $(BINDIR)/vpn-metrics \
        $(TOOLS)

.PHONY: all check demo install uninstall clean deps unit fuzz fuzz-build bench bench-micro
all: $(BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The build's revision (include/vpn/version.h: build info in the metrics), given to
# core/lib/version.c alone; the stamp changes, and version.o is rebuilt, only when
# `git describe` does. The release number, VERSION, is the package's (make deb).
BUILD_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(B)/version.stamp: FORCE
	@mkdir -p $(B)
	@echo '$(BUILD_REV)' | cmp -s - $@ || echo '$(BUILD_REV)' >$@
$(B)/core/lib/version.o: $(B)/version.stamp
$(B)/core/lib/version.o: CFLAGS += -DVPN_VERSION='"$(BUILD_REV)"'
.PHONY: FORCE

$(LIBVPN): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BINDIR)/vpn-server: $(SERVER_OBJ) $(LIBVPN)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_URCU) $(LIBS_SANDBOX) $(LIBS_CRYPTO) $(LIBS_DB) $(LIBS_SYSTEMD)

$(BINDIR)/vpn-enclave: $(ENCLAVE_OBJ) $(LIBVPN)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_SANDBOX) $(LIBS_CRYPTO)

$(BINDIR)/vpn-client: $(CLIENT_OBJ) $(LIBVPN)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_SANDBOX) $(LIBS_CRYPTO)

# Tools may use the client's protocol half (the load generator speaks it).
$(BINDIR)/%: $(B)/tools/%.o $(B)/libclient.a $(LIBVPN)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CRYPTO) $(LIBS_DB)

$(BINDIR)/vpnctl: $(B)/tools/vpnctl.o $(LIBVPNCTL) $(LIBMETRICS) $(LIBVPN)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_JSON) $(LIBS_DB) $(LIBS_CRYPTO) $(LIBS_QR)

$(LIBVPNCTL): $(VPNCTL_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BINDIR)/vpn-metrics: $(B)/tools/metrics/main.o $(LIBMETRICS) $(LIBVPN)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_HTTP) $(LIBS_JSON) $(LIBS_CRYPTO)

# The page's files as C arrays (tools/metrics/embed.sh): the program serves them from memory.
$(B)/tools/metrics/www_files.c: tools/metrics/embed.sh $(WWW_FILES)
	@mkdir -p $(dir $@)
	sh tools/metrics/embed.sh $(WWW_FILES) >$@.tmp && mv $@.tmp $@
$(B)/tools/metrics/www_files.o: $(B)/tools/metrics/www_files.c
	$(CC) $(CFLAGS) -Itools/metrics -c $< -o $@

$(LIBMETRICS): $(filter-out %/main.o,$(METRICS_OBJ)) $(B)/tools/metrics/www_files.o
	@rm -f $@
	$(AR) rcs $@ $^

# Each program's objects other than main.o also go into an archive, so that a unit test links
# only the modules it uses (the linker pulls objects from archives on demand).
$(B)/libserver.a: $(filter-out %/main.o,$(SERVER_OBJ))
$(B)/libenclave.a: $(filter-out %/main.o,$(ENCLAVE_OBJ))
$(B)/libclient.a: $(filter-out %/main.o,$(CLIENT_OBJ))
$(B)/libserver.a $(B)/libenclave.a $(B)/libclient.a:
	@rm -f $@
	$(AR) rcs $@ $^

# Criterion for the unit tests: Debian's, or for a cross build what "Cross builds" above says.
CRITERION_DEP  :=
CRITERION_LIBS := -lcriterion
ifeq ($(ARCH),arm64)
CRITERION_LIBDIR := $(CROSS_CRITERION)/usr/lib/$(TRIPLET)
CRITERION_LIBS := $(CRITERION_LIBDIR)/libcriterion.so.3 -Wl,-rpath-link,$(CRITERION_LIBDIR) \
                  -Wl,--disable-new-dtags,-rpath,$(CRITERION_LIBDIR)
endif
ifeq ($(ARCH),armhf)
CRITERION_DEP  := $(B)/tests/criterion-lite/criterion_lite.o
CRITERION_LIBS := $(CRITERION_DEP)
$(B)/tests/unit/%.o: CFLAGS += -isystem tests/criterion-lite
endif

PROG_LIBS := $(B)/libserver.a $(B)/libenclave.a $(B)/libclient.a $(LIBMETRICS) $(LIBVPNCTL)
$(B)/tests/%: $(B)/tests/unit/%.o $(PROG_LIBS) $(LIBVPN) $(CRITERION_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(PROG_LIBS) $(LIBVPN) $(CRITERION_LIBS) $(LIBS_URCU) \
	    $(LIBS_SANDBOX) $(LIBS_JSON) $(LIBS_BOTH_AEAD) $(LIBS_DB) $(LIBS_SYSTEMD) $(LIBS_QR)

# Programs the integration tests drive (a probing client, ...), not installed.
$(B)/tests/tools/%: $(B)/tests/tools/%.o $(PROG_LIBS) $(LIBVPN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(PROG_LIBS) $(LIBVPN) $(LIBS_SANDBOX) $(LIBS_CRYPTO) $(LIBS_DB)

# The enclave with test hooks (a worker calls a forbidden syscall on SIGUSR1), for the
# seccomp test; a separate build so that bin/vpn-enclave never has them.
TEST_ENCLAVE := $(B)/test-enclave/vpn-enclave
$(B)/test-enclave/%.o: enclave/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DENCLAVE_TEST_HOOKS -MMD -MP -c $< -o $@
$(TEST_ENCLAVE): $(ENCLAVE_SRC:enclave/%.c=$(B)/test-enclave/%.o) $(LIBVPN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_SANDBOX) $(LIBS_CRYPTO)

# A cross build's unit target is the Criterion tests and the worker that the amd64 build's
# test_cross_worker drives under qemu-user; the other test tools and the hooked enclave serve
# the namespace tests, which run natively only.
ifeq ($(ARCH),)
unit: $(UNIT_BINS) $(TEST_TOOLS) $(TEST_ENCLAVE)
else
unit: $(UNIT_BINS) $(B)/tests/tools/worker-host
endif

deps:
	@tools/install-deps.sh

# The builds use every CPU (CHECK_JOBS): with the two Pi builds installed, make check's builds
# take 3 minutes with -j2 on this 2-CPU VM (about twice that serially), out of its 20.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)

check: deps
	$(MAKE) -j$(CHECK_JOBS) all unit fuzz-build sanitize clang-race
	@for a in arm64 armhf; do \
	    if tools/install-deps.sh --cross-ready $$a; then \
	        $(MAKE) -j$(CHECK_JOBS) ARCH=$$a all unit || exit 1; fi; \
	done
	@tests/run.sh

demo: deps
	$(MAKE) all
	@tools/demo.sh

bench: all
	@bench/run-iperf.sh

# Micro-benchmarks (bench/*.c): ring, queue, enclave round trip, crypto per packet.
$(B)/bench/%: $(B)/bench/%.o $(PROG_LIBS) $(LIBVPN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(PROG_LIBS) $(LIBVPN) $(LIBS_URCU) $(LIBS_SANDBOX) $(LIBS_BOTH_AEAD) \
	    $(LIBS_DB) $(LIBS_SYSTEMD)

bench-micro: $(B)/bench/bench_micro
	@$(B)/bench/bench_micro

# The installed layout, the same for `make install` and the package (make deb):
#   PREFIX/sbin            vpn-server, vpn-client (started as root), vpn-metrics
#   PREFIX/bin             vpnctl, vpn-keygen, vpn-token
#   PREFIX/libexec/vpnse   vpn-enclave (found by vpn-server as ../libexec/vpnse/ from its own
#                          directory, or beside it as in bin/), create-users
#   PREFIX/share/vpnse     example configurations; PREFIX/share/man: the manual pages
# vpn-loadgen stays in bin/ (a benchmark tool). A real install (no DESTDIR, as root) also
# creates the system users vpnse, vpnse-enclave and vpnse-metrics the server, its enclave and
# vpn-metrics switch to; a
# staged one (packaging) leaves that to the package.
SBIN_PROGS := vpn-server vpn-client vpn-metrics
BIN_PROGS  := vpnctl vpn-keygen vpn-token
MAN8       := docs/man/vpn-server.8 docs/man/vpn-client.8 docs/man/vpnctl.8 docs/man/vpn-metrics.8
MAN1       := docs/man/vpn-keygen.1 docs/man/vpn-token.1
LIBEXEC    := $(PREFIX)/libexec/vpnse
FROM       ?= bin

install: all
	$(MAKE) --no-print-directory install-files FROM=$(BINDIR)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then tools/create-users.sh; \
	else echo "install: not creating the system users vpnse, vpnse-enclave, vpnse-metrics (DESTDIR set or not root): see tools/create-users.sh"; fi

# The files alone, programs taken from FROM (bin, or a cross build's directory: make deb).
install-files:
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXEC)
	install -m 0755 $(addprefix $(FROM)/,$(SBIN_PROGS)) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(addprefix $(FROM)/,$(BIN_PROGS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(FROM)/vpn-enclave $(DESTDIR)$(LIBEXEC)/
	install -m 0755 tools/create-users.sh $(DESTDIR)$(LIBEXEC)/create-users
	install -d $(DESTDIR)$(PREFIX)/share/vpnse/conf
	install -m 0644 conf/server.conf conf/qos_classes.conf conf/users.conf.example \
		conf/vpn-metrics.service conf/grafana-dashboard.json $(DESTDIR)$(PREFIX)/share/vpnse/conf/
# An example to copy, not a configuration: its token is the public demo user's (alice /
# wonderland, as in users.conf.example), so it may be world-readable here, and vpn-client
# refuses to use it in place. A real client.conf is installed with mode 0600 (README).
	install -m 0644 conf/client.conf $(DESTDIR)$(PREFIX)/share/vpnse/conf/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	cd $(DESTDIR)$(PREFIX)/sbin && rm -f $(SBIN_PROGS)
	cd $(DESTDIR)$(PREFIX)/bin && rm -f $(BIN_PROGS)
	rm -rf $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(PREFIX)/share/vpnse
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man8/,$(notdir $(MAN8))) \
	      $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(MAN1)))

# --- Debian packages ---
#
#   make deb [ARCH=amd64|arm64|armhf]   build/deb/vpnse_VERSION_ARCH.deb, checked by lintian
#
# The package is `make install-files PREFIX=/usr` of that architecture's programs plus
# /etc/vpnse, the systemd units, the logrotate file and the maintainer scripts
# (tools/package/build-deb.sh), programs from $(BINDIR): bin/ for the machine's own
# architecture, build-ARCH/bin for a cross build (ARCH=arm64|armhf), built first if needed.
VERSION   ?= 0.9.0
DEB_ARCH  := $(or $(ARCH),$(shell dpkg --print-architecture 2>/dev/null))
DEB_DIR   ?= $(B)/deb

deb: all
	@tools/package/build-deb.sh $(DEB_ARCH) $(BINDIR) $(DEB_DIR) $(VERSION)

.PHONY: install-files deb

clean:
	rm -rf $(B) bin build-fuzz build-asan build-clang build-arm64 build-armhf

-include $(shell find $(B) -name '*.d' 2>/dev/null)
.SECONDARY:

# --- fuzzing and sanitizer builds ---
#
#   make fuzz-build libFuzzer harnesses tests/fuzz/fuzz_*.c -> build-fuzz/fuzz_* (clang,
#                   ASan+UBSan), linked against the sources compiled again with clang
#   make fuzz       builds them, then runs each for FUZZ_TIME seconds (default 600), two at a
#                   time, on its corpus in tests/fuzz/corpus/NAME, merges what it found back
#                   into that corpus (-merge=1: only inputs with new coverage) and prints a
#                   summary (tests/fuzz/run-fuzz.sh; FUZZ=NAME runs only that harness)
#   make sanitize   the Criterion unit tests with ASan+UBSan -> build-asan/tests/test_* (gcc)
#
# Both live in their own folders and never touch $(B). tests/run.sh (make check) runs whatever
# of them is built: each fuzzer for a few seconds on a copy of its corpus, every input of
# tests/fuzz/regressions/NAME through its harness once, then the sanitized tests.
# Warnings are not errors here: another compiler or optimisation level must not break check.

FUZZ_B      := build-fuzz
FUZZ_CC     ?= clang
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(STD) -Wall -Wextra -Wno-unused-parameter -g -O1 -Iinclude -pthread
# Everything a parser may need, main.c files left out; the archive pulls only what is used.
# Of the server's files only the pure ones: the rest needs liburcu and the whole process.
FUZZ_SRC    := $(LIB_SRC) $(filter-out %/main.c,$(ENCLAVE_SRC) $(CLIENT_SRC)) \
               core/server/control_request.c tools/metrics/metrics_format.c \
               tools/metrics/prom_text.c
FUZZ_OBJ    := $(FUZZ_SRC:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_B)/libvpn-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_B)/libvpn-fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -MMD -MP -MF $@.d -o $@ $< \
	    $(FUZZ_B)/libvpn-fuzz.a $(LIBS_JSON) $(LIBS_CRYPTO) $(LIBS_DB)

fuzz-build: $(FUZZ_BINS)

FUZZ_TIME ?= 600
fuzz: fuzz-build
	@FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run-fuzz.sh $(FUZZ)

ASAN_B      := build-asan
ASAN_CC     ?= gcc
ASAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_CFLAGS := $(STD) $(filter-out -Werror,$(WARN)) -g -O1 -Iinclude -pthread $(ASAN_FLAGS)
ASAN_LIBS   := $(ASAN_B)/libserver.a $(ASAN_B)/libenclave.a $(ASAN_B)/libclient.a \
               $(ASAN_B)/libmetrics.a $(ASAN_B)/libvpnctl.a $(ASAN_B)/libvpn.a
ASAN_BINS   := $(UNIT_SRC:tests/unit/%.c=$(ASAN_B)/tests/%)

$(ASAN_B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(ASAN_B)/libvpn.a: $(LIB_OBJ:$(B)/%=$(ASAN_B)/%)
$(ASAN_B)/libserver.a: $(filter-out %/main.o,$(SERVER_OBJ:$(B)/%=$(ASAN_B)/%))
$(ASAN_B)/libenclave.a: $(filter-out %/main.o,$(ENCLAVE_OBJ:$(B)/%=$(ASAN_B)/%))
$(ASAN_B)/libclient.a: $(filter-out %/main.o,$(CLIENT_OBJ:$(B)/%=$(ASAN_B)/%))
# The metrics modules the unit tests reach (not the HTTP side or the page).
$(ASAN_B)/libmetrics.a: $(filter-out %/main.o %/http.o %/www.o,$(METRICS_OBJ:$(B)/%=$(ASAN_B)/%))
$(ASAN_B)/libvpnctl.a: $(VPNCTL_OBJ:$(B)/%=$(ASAN_B)/%)
$(ASAN_LIBS):
	@rm -f $@
	$(AR) rcs $@ $^

$(ASAN_B)/tests/%: $(ASAN_B)/tests/unit/%.o $(ASAN_LIBS)
	@mkdir -p $(dir $@)
	$(ASAN_CC) $(ASAN_FLAGS) -pthread -o $@ $< $(ASAN_LIBS) -lcriterion $(LIBS_URCU) \
	    $(LIBS_SANDBOX) $(LIBS_JSON) $(LIBS_BOTH_AEAD) $(LIBS_DB) $(LIBS_SYSTEMD) $(LIBS_QR)

sanitize: $(ASAN_BINS)

.PHONY: sanitize

# --- the race test, built with clang too ---
#
#   make clang-race  tests/unit/test_worker_race.c and the enclave and library sources it links,
#                    compiled again with clang -O2 -> build-clang/tests/test_worker_race
#
# That test races a hostile main process against a real worker. Whether a double fetch from the
# shared rings can be won depends on which loads the compiler keeps, and gcc -O2 and clang -O2
# keep different ones (finding H2), so the test runs built with each; tests/run.sh runs this one
# labelled "clang". Same warnings and hardening as the gcc build, but not -Werror, as above.

CLANG_B      := build-clang
CLANG_CC     ?= clang
CLANG_CFLAGS := $(STD) $(filter-out -Werror,$(WARN)) $(HARDEN) -O2 -g -Iinclude -pthread
CLANG_LIBS   := $(CLANG_B)/libenclave.a $(CLANG_B)/libvpn.a
CLANG_BINS   := $(CLANG_B)/tests/test_worker_race

$(CLANG_B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG_CC) $(CLANG_CFLAGS) -MMD -MP -c $< -o $@

$(CLANG_B)/libvpn.a: $(LIB_OBJ:$(B)/%=$(CLANG_B)/%)
$(CLANG_B)/libenclave.a: $(filter-out %/main.o,$(ENCLAVE_OBJ:$(B)/%=$(CLANG_B)/%))
$(CLANG_LIBS):
	@rm -f $@
	$(AR) rcs $@ $^

$(CLANG_B)/tests/%: $(CLANG_B)/tests/unit/%.o $(CLANG_LIBS)
	@mkdir -p $(dir $@)
	$(CLANG_CC) $(LDFLAGS) -o $@ $< $(CLANG_LIBS) -lcriterion $(LIBS_CRYPTO) $(LIBS_DB)

clang-race: $(CLANG_BINS)

.PHONY: clang-race
-include $(shell find $(FUZZ_B) $(ASAN_B) $(CLANG_B) -name '*.d' 2>/dev/null)
