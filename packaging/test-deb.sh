#!/bin/sh
# test-deb.sh: build the packages, install the .deb on this machine, check
# what it installed, upgrade it (the edited conffile must stay), then purge
# it and check that nothing of it is left. Runs as root where systemd does
# not run the host (CI, containers); elsewhere it says why it skips, since
# installing would start a system-wide agent.
set -eu
cd "$(dirname "$0")/.."

skip() {
	echo "package-test skipped: $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root for dpkg -i"
command -v dpkg >/dev/null 2>&1 || skip "no dpkg on this machine"
if [ -d /run/systemd/system ] && [ "${OCP_AGENT_PACKAGE_TEST:-}" != force ]; then
	skip "systemd runs this host, so the package would start an agent; OCP_AGENT_PACKAGE_TEST=force runs it anyway"
fi
if dpkg -s ocp-agent >/dev/null 2>&1; then
	skip "an ocp-agent package is installed here already; not touching it"
fi

fail() {
	echo "package-test FAILED: $*" >&2
	exit 1
}

make=${MAKE:-make}
$make --no-print-directory package >/dev/null
deb=$(ls dist/ocp-agent_*.deb)
rpm=$(ls dist/ocp-agent-*.rpm)
[ -s "$rpm" ] || fail "no .rpm in dist/"

work=$(mktemp -d)
cleanup() {
	dpkg --purge ocp-agent >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# Every path the package may create, and whether it exists beforehand: the
# ones that do not must not exist after the purge.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\.||; s|/$||' | grep . > "$work/paths"
printf '%s\n' /etc/systemd/system/multi-user.target.wants/ocp-agent.service /run/ocp-agent >> "$work/paths"
while read -r p; do
	[ -e "$p" ] || [ -L "$p" ] || echo "$p"
done < "$work/paths" > "$work/new"

dpkg -i "$deb" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i $deb"; }
echo "package-test: installed $deb"

/usr/bin/ocp-agent version | grep -q "^ocp-agent " || fail "/usr/bin/ocp-agent version"
/usr/bin/ocp-agent config check || fail "config check of the installed /etc/ocp-agent/config.yaml"
for p in /usr/bin/ocp-agent /etc/ocp-agent/config.yaml /usr/lib/systemd/system/ocp-agent.service \
	/usr/share/bash-completion/completions/ocp-agent /var/lib/ocp-agent; do
	dpkg -L ocp-agent | grep -qx "$p" || fail "dpkg -L ocp-agent lacks $p"
	[ -e "$p" ] || fail "$p not installed"
done
for p in /usr/share/man/man1/ocp-agent.1.gz /usr/share/man/man1/ocp-agent-stop.1.gz \
	/usr/share/doc/ocp-agent/openapi.yaml /usr/share/doc/ocp-agent/monitoring/ocp-agent.rules.yml \
	/usr/share/doc/ocp-agent/monitoring/ocp-agent.dashboard.json; do
	[ -s "$p" ] || fail "$p not installed"
done
if command -v man >/dev/null 2>&1; then
	MANPAGER=cat man ocp-agent-stop 2>/dev/null | grep -q "ocp-agent stop" || fail "man ocp-agent-stop"
fi
dpkg-query -W -f='${Conffiles}\n' ocp-agent | grep -q ' /etc/ocp-agent/config.yaml ' || fail "config.yaml is not a conffile"
[ "$(stat -c %a /var/lib/ocp-agent)" = 750 ] || fail "/var/lib/ocp-agent is not 0750"
[ "$(stat -c %a /etc/ocp-agent/config.yaml)" = 640 ] || fail "config.yaml is not 0640"
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify /usr/lib/systemd/system/ocp-agent.service 2>&1) || fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
fi

# An upgrade keeps the admin's config.
sed -i 's/^  id: 1$/  id: 42/' /etc/ocp-agent/config.yaml
PKG_VERSION=99.0.0 PKG_RELEASE=1 PKG_ARCH=$(go env GOARCH) bin/nfpm pkg -f packaging/nfpm.yaml -p deb -t "$work/" > /dev/null
dpkg -i "$work"/ocp-agent_99.0.0*.deb > "$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "upgrade"; }
[ "$(dpkg-query -W -f='${Version}' ocp-agent)" = 99.0.0-1 ] || fail "not upgraded"
grep -qx '  id: 42' /etc/ocp-agent/config.yaml || fail "the upgrade replaced the edited config"
/usr/bin/ocp-agent config check > /dev/null || fail "config check after the upgrade"

# State the agent would have written goes with the purge.
mkdir -p /var/lib/ocp-agent/output && touch /var/lib/ocp-agent/state.db /var/lib/ocp-agent/output/x.log
dpkg --purge ocp-agent > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
dpkg -s ocp-agent >/dev/null 2>&1 && fail "still installed after purge"
left=""
while read -r p; do
	if [ -e "$p" ] || [ -L "$p" ]; then left="$left $p"; fi
done < "$work/new"
[ -z "$left" ] || fail "left after purge:$left"
echo "package-test: ok: install, version, config check, upgrade keeps config, purge leaves nothing ($(wc -l < "$work/new") paths checked)"
