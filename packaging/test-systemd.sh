#!/usr/bin/env bash
# test-systemd.sh: install the .deb and the .rpm under a real systemd, as
# PID 1 of a throw-away container (systemd-nspawn), in both cgroup layouts
# (hybrid: cgroup v1 with the unified tree beside it; unified: cgroup2
# only), and check with systemctl what an admin relies on: the unit starts
# and reports READY, reload applies or refuses a config and waits for it,
# restart and a SIGKILL of the agent keep the managed processes, stop
# leaves them running, an upgrade keeps config, state and processes, and
# the removal leaves nothing of ours. The checks themselves are in
# test-systemd-inside.sh, which runs in the container.
#
# The container's root is a minimal Debian 12 built once with debootstrap
# from the mirror apt uses here, cached under /var/tmp (rebuilt when the
# package list changes), and booted with a tmpfs overlay, so that every run
# starts from the same clean root. Needs root, systemd-nspawn (package
# systemd-container), nsenter, and debootstrap for the first run. It says
# why when it skips.
#
# Environment: OCP_TEST_LAYOUTS (default "hybrid unified"), OCP_TEST_PKGS
# (default "deb rpm"), OCP_TEST_CONTAINMENT (auto, require or xfail: see
# test-systemd-inside.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf 'test-systemd: %s\n' "$*"; }
skip() {
	say "SKIP: $*"
	exit 0
}
fail() {
	say "FAILED: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn, cgroups)"
for c in systemd-nspawn nsenter; do
	command -v "$c" >/dev/null 2>&1 || skip "no $c here (apt-get install systemd-container util-linux)"
done

# The container's root: what the checks need inside, and a key of it.
suite=bookworm
root_pkgs="systemd,systemd-sysv,dbus,curl,procps,rpm,jq,iproute2"
root_key=$(printf '%s %s %s v1' "$suite" minbase "$root_pkgs" | sha256sum | cut -c1-12)
root=/var/tmp/ocp-agent-test-root-$root_key

# mirror prints the Debian mirror apt uses on this machine for $suite
# itself (not -security, not another vendor's repository), from one-line
# sources.list entries or deb822 .sources files.
mirror() {
	local m=""
	m=$(awk -v suite="$suite" '$1 == "deb" {for (i = 2; i < NF; i++) if ($i ~ /^[a-z]+:\/\// && $(i + 1) == suite) {print $i; exit}}' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 || true)
	if [ -z "$m" ]; then
		m=$(awk 'BEGIN {RS = ""} /Types:[^\n]*deb/ && /Suites:[^\n]*'"$suite"'([ \t\n]|$)/ {
			if (match($0, /URIs:[ \t]*[^ \t\n]+/)) {s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit}
		}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	fi
	printf '%s' "$m"
}

# build_root makes $root with debootstrap, once: under a lock, into a
# temporary directory renamed when complete, without caches and docs.
build_root() {
	exec 9>"$root.lock"
	flock 9
	if [ -x "$root/usr/lib/systemd/systemd" ]; then
		return
	fi
	command -v debootstrap >/dev/null 2>&1 || skip "no cached root at $root and no debootstrap to build it (apt-get install debootstrap)"
	local m log tmp
	m=$(mirror)
	[ -n "$m" ] || fail "cannot tell the Debian mirror from /etc/apt/sources.list{,.d}"
	tmp=$root.tmp
	log=/var/tmp/ocp-agent-test-root-$root_key.log
	rm -rf "$tmp"
	say "building the container root (debootstrap $suite from $m; once, about 1-3 minutes; log $log)"
	local t0=$SECONDS
	if ! debootstrap --variant=minbase --include="$root_pkgs" "$suite" "$tmp" "$m" >"$log" 2>&1; then
		rm -rf "$tmp"
		if grep -qiE 'Failed getting release file|Temporary failure resolving|Could not resolve|Network is unreachable|Connection (refused|timed out)' "$log"; then
			skip "no network to build the container root with debootstrap from $m (see $log)"
		fi
		tail -n 20 "$log" >&2
		fail "debootstrap (log $log)"
	fi
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/cache/apt/*.bin "$tmp"/var/lib/apt/lists/* \
		"$tmp"/usr/share/doc/* "$tmp"/usr/share/man/* "$tmp"/usr/share/locale/*
	# debootstrap copies this machine's name; the container has its own.
	echo node-1 >"$tmp/etc/hostname"
	# Other keys' roots are stale now.
	for old in /var/tmp/ocp-agent-test-root-*; do
		case "$old" in "$root" | "$root".*) ;; *) rm -rf "$old" ;; esac
	done
	mv "$tmp" "$root"
	say "container root built in $((SECONDS - t0)) s: $(du -sh "$root" | cut -f1) at $root"
}

work=$(mktemp -d /var/tmp/ocp-agent-test-systemd.XXXXXX)
chmod 755 "$work"
nspawn_pid=""
cgroups=()
machine=""

# stop_container halts the container (nspawn turns SIGTERM into a clean
# shutdown), SIGKILLs it if it does not go within 60 s, and removes the
# test's cgroups.
stop_container() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill -TERM "$nspawn_pid" 2>/dev/null || true
		local i
		for i in $(seq 1 300); do
			kill -0 "$nspawn_pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$nspawn_pid" 2>/dev/null; then
			say "the container did not halt within 60 s; killing it"
			kill -KILL "$nspawn_pid" 2>/dev/null || true
		fi
		wait "$nspawn_pid" 2>/dev/null || true
	fi
	nspawn_pid=""
	local cg
	for cg in "${cgroups[@]}"; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -d "$cg" ] && say "warning: cgroup $cg is not empty; left in place"
	done
	cgroups=()
	[ -n "$machine" ] && rm -rf "/run/systemd/nspawn/propagate/$machine" 2>/dev/null
	machine=""
	return 0
}
cleanup() {
	stop_container
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The host's cgroup trees the container's cgroup goes under: the cgroup2
# one, and the v1 name=systemd one when there is one (hybrid and legacy
# hosts). nspawn makes payload/ and supervisor/ in the cgroup it starts in;
# starting it in one of the test's own keeps them off the roots.
cg2=""
if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	cg2=/sys/fs/cgroup/unified
elif [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
	cg2=/sys/fs/cgroup
fi
cg1=""
if [ "$(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null)" = cgroupfs ]; then
	cg1=/sys/fs/cgroup/systemd
fi

# boot LAYOUT starts the container and sets leader to its PID 1 as the
# host sees it, once systemd inside is up.
boot() {
	local layout=$1 unified=0
	[ "$layout" = unified ] && unified=1
	machine=ocp-agent-test-$$-$layout
	local cg name=ocp-agent-test-$$
	for cg in $cg2 $cg1; do
		mkdir -p "$cg/$name"
		cgroups+=("$cg/$name")
	done
	(
		for cg in "${cgroups[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
		SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=$unified exec systemd-nspawn -D "$root" --volatile=overlay -b \
			--register=no --keep-unit --private-network --machine="$machine" --hostname=node-1 \
			--bind="$work:/ocp-test" </dev/null
	) >"$work/nspawn-$layout.log" 2>&1 &
	nspawn_pid=$!
	leader=""
	local i c
	for i in $(seq 1 150); do
		kill -0 "$nspawn_pid" 2>/dev/null || break
		for c in $(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null); do
			if grep -qE '^NSpid:.*[[:space:]]1$' /proc/"$c"/status 2>/dev/null; then
				leader=$c
			fi
		done
		[ -n "$leader" ] && break
		sleep 0.2
	done
	if [ -z "$leader" ]; then
		tail -n 20 "$work/nspawn-$layout.log" >&2 || true
		stop_container
		skip "systemd-nspawn cannot boot a container here (layout $layout; its output is above)"
	fi
	# systemctl needs the manager's socket, which comes a moment after
	# PID 1 starts.
	for i in $(seq 1 300); do
		nsenter -t "$leader" -a test -S /run/systemd/private 2>/dev/null && break
		kill -0 "$nspawn_pid" 2>/dev/null || break
		sleep 0.2
	done
	local state
	state=$(timeout 120 nsenter -t "$leader" -a systemctl is-system-running --wait 2>&1 || true)
	case "$state" in
	running) ;;
	degraded)
		say "the container booted degraded; failed units:"
		nsenter -t "$leader" -a systemctl --failed --no-legend --no-pager || true
		;;
	*)
		tail -n 30 "$work/nspawn-$layout.log" >&2 || true
		fail "the container's systemd did not finish booting (layout $layout): $state"
		;;
	esac
}

# inside runs a command in the container, in all its namespaces.
inside() {
	nsenter -t "$leader" -a "$@"
}

# Packages: the version under test and a newer one to upgrade to, each
# with its own binary (so that the running agent's version shows which one
# runs), and the demo program the agent manages in the checks.
make=${MAKE:-make}
say "building the packages (0.1.1 to upgrade to, then 0.1.0)"
mkdir -p "$work/new" "$work/old" "$work/out"
$make --no-print-directory package PKG_VERSION=0.1.1 >"$work/package.log" 2>&1 || {
	cat "$work/package.log"
	fail "make package PKG_VERSION=0.1.1"
}
cp dist/ocp-agent_*.deb dist/ocp-agent-*.rpm "$work/new/"
$make --no-print-directory package >"$work/package.log" 2>&1 || {
	cat "$work/package.log"
	fail "make package"
}
cp dist/ocp-agent_*.deb dist/ocp-agent-*.rpm "$work/old/"
CGO_ENABLED=0 ${GO:-go} build -trimpath -o "$work/ocp-demo" ./cmd/ocp-demo
cp packaging/test-systemd-inside.sh "$work/inside.sh"

build_root

layouts=${OCP_TEST_LAYOUTS:-hybrid unified}
pkgs=${OCP_TEST_PKGS:-deb rpm}
t_all=$SECONDS
for layout in $layouts; do
	if [ "$layout" = hybrid ] && [ -z "$cg1" ]; then
		say "layout hybrid: not possible here (the host has no cgroup v1 name=systemd hierarchy); only unified runs"
		continue
	fi
	for pkg in $pkgs; do
		t0=$SECONDS
		say "== $pkg under systemd, $layout cgroup layout: booting"
		boot "$layout"
		seen=$(inside stat -fc %T /sys/fs/cgroup)
		say "booted in $((SECONDS - t0)) s; /sys/fs/cgroup in the container is $seen; $(inside systemctl --version | head -n1)"
		case "$layout:$seen" in
		unified:cgroup2fs | hybrid:tmpfs) ;;
		*) fail "layout $layout asked for, but /sys/fs/cgroup in the container is $seen" ;;
		esac
		rc=0
		inside env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb \
			OCP_TEST_CONTAINMENT="${OCP_TEST_CONTAINMENT:-auto}" \
			timeout 900 bash /ocp-test/inside.sh "$pkg" "$layout" || rc=$?
		stop_container
		[ "$rc" = 0 ] || fail "$pkg, $layout layout (exit status $rc; the steps above say which check)"
		say "== $pkg, $layout layout: ok in $((SECONDS - t0)) s"
	done
done

# The status an admin sees, for the README: from the deb run, hybrid
# layout when it ran.
for f in "$work/out/status-deb-hybrid.txt" "$work/out/status-deb-unified.txt"; do
	if [ -s "$f" ]; then
		mkdir -p packaging/testdata
		cp "$f" packaging/testdata/systemctl-status.txt
		say "wrote packaging/testdata/systemctl-status.txt (from $(basename "$f"))"
		break
	fi
done
cat "$work"/out/summary-* 2>/dev/null | sed 's/^/test-systemd: /'
say "ok: every check passed in $((SECONDS - t_all)) s (layouts: $layouts; packages: $pkgs)"
