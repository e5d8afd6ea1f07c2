#!/bin/sh
# After removal: let systemd forget the unit; on purge (deb only) delete the
# agent's state too, so that nothing of it is left.
# Arguments: deb "remove", "purge" or "upgrade"; rpm "0" (erase) or "1"
# (upgrade).
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/ocp-agent /run/ocp-agent
	rmdir /etc/ocp-agent 2>/dev/null || true
fi
exit 0
