# SPDX-License-Identifier: GPL-2.0
#
# make              module for every installed guest kernel, eBPF object and
#                   skeleton, user tools, selftests, man pages (build/man)
# make KDIR=DIR     module for one kernel tree only
# make V=1          show commands
# make install      tools and man pages under PREFIX (/usr/local); DESTDIR
#                   is honoured; make uninstall removes them
#
# Out-of-tree products go to build/ (module, per kernel) and next to their
# sources (user tools, selftests); none of them is tracked.

SRC		:= $(abspath .)
BUILD		:= $(SRC)/build
KDIRS		?= $(wildcard /lib/modules/6.1.*/build /lib/modules/6.12.*/build)
ifneq ($(KDIR),)
KDIRS		:= $(KDIR)
endif

CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
CFLAGS		?= -O2 -g
WARN		:= -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CPPFLAGS	+= -I$(SRC)/include/uapi -I$(SRC)/user/lib -I$(SRC)/user -D_GNU_SOURCE
NL_CFLAGS	:= $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS		:= $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)
BPF_LIBS	:= $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all kmod user bpf selftests man clean install uninstall \
	install-man uninstall-man install-deps
all: kmod bpf user selftests man

# ---- kernel module: one build directory per kernel, sources linked in ----
kver = $(notdir $(patsubst %/build,%,$(1)))
kmod:
	$(Q)set -e; [ -n "$(strip $(KDIRS))" ] || { echo "no kernel headers under /lib/modules (run tools/setup)"; exit 1; }; \
	for kd in $(KDIRS); do \
		kv=$$(basename $$(dirname $$kd)); [ "$$kv" = "." ] && kv=$$(basename $$kd); \
		case $$kd in /lib/modules/*) ;; *) kv=$$(basename $$kd);; esac; \
		out=$(BUILD)/kmod-$$kv; mkdir -p $$out; \
		for f in $(SRC)/kmod/*.c $(SRC)/kmod/*.h $(SRC)/kmod/Kbuild; do ln -sf $$f $$out/; done; \
		$(if $(Q),printf '  %-8s %s\n' KMOD "$$out/vstrace.ko";) \
		$(MAKE) -s -C $$kd M=$$out $(if $(Q),,V=1) modules; \
	done

include user/Makefile.inc
include selftests/Makefile.inc

# ---- eBPF ----
include bpf/Makefile.inc

include Documentation/Makefile.inc

# ---- install: the tools and their man pages ----
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man

install: $(TOOL_BINS) install-man
	$(call msg,INSTALL,$(DESTDIR)$(BINDIR))
	$(Q)install -d $(DESTDIR)$(BINDIR)
	$(Q)install -m 0755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)/

uninstall: uninstall-man
	$(call msg,UNINST,$(DESTDIR)$(BINDIR))
	$(Q)rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOL_BINS)))

# Each part adds its products to CLEAN_FILES.
CLEAN_FILES	+= $(BUILD)/kmod-* $(BUILD)/bpf bpf/*.o
clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(CLEAN_FILES)

install-deps:
	tools/setup
