#!/bin/sh
# verify.sh BINARY: run systemd-analyze verify on ocp-agent.service, with
# ExecStart and ExecReload pointing at BINARY (verify wants an executable
# there), and fail
# on any complaint: an unknown or misspelt key is only a warning to it.
set -eu
unit="$(dirname "$0")/ocp-agent.service"
bin=$(realpath "$1")
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "verify-unit skipped: systemd-analyze is not installed (apt-get install systemd)"
	exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^\(Exec[A-Za-z]*\)=/usr/bin/ocp-agent |\1=$bin |" "$unit" > "$dir/ocp-agent.service"
for key in ExecStart ExecReload; do
	grep -q "^$key=$bin " "$dir/ocp-agent.service" || { echo "verify-unit: no $key=/usr/bin/ocp-agent line in $unit"; exit 1; }
done
out=$(systemd-analyze verify "$dir/ocp-agent.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
	echo "systemd-analyze verify $unit:"
	echo "$out"
	exit 1
fi
echo "systemd-analyze verify: ocp-agent.service ok"
