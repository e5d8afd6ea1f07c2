#!/bin/sh
# After install or upgrade: enable the unit on a first install, then, when
# systemd runs this host, start the agent (first install) or restart it
# (upgrade). Without systemd running (a container, a chroot, CI) there is
# nothing to start: the agent is run with `ocp-agent run` there.
# Arguments: deb "configure OLD_VERSION" (OLD_VERSION empty on a first
# install); rpm "1" (install) or "2" (upgrade).
set -e

first=no
case "$1" in
configure) [ -z "$2" ] && first=yes ;;
1) first=yes ;;
esac

if [ "$first" = yes ] && command -v systemctl >/dev/null 2>&1; then
	# Works without systemd running too: it only makes the symlink.
	systemctl enable ocp-agent.service >/dev/null 2>&1 || true
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ "$first" = yes ]; then
		systemctl start ocp-agent.service || echo "ocp-agent: not started; edit /etc/ocp-agent/config.yaml, then: systemctl start ocp-agent" >&2
	else
		# KillMode=process: the processes the agent manages keep running
		# and the new agent adopts them.
		systemctl try-restart ocp-agent.service || true
	fi
fi
exit 0
