#!/bin/sh
# Before removal (not before an upgrade): stop and disable the agent. The
# processes it manages keep running (KillMode=process); stop them first with
# `ocp-agent stop ALIAS` if they should go too.
# Arguments: deb "remove" or "upgrade NEW_VERSION"; rpm "0" (erase) or "1"
# (upgrade).
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac
if [ -d /run/systemd/system ]; then
	systemctl stop ocp-agent.service || true
fi
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable ocp-agent.service >/dev/null 2>&1 || true
fi
exit 0
