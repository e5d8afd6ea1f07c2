#!/bin/sh
# demo-stop.sh AGENT CONFIG: stops every process of the demo (make clean).
# Through the running agent when there is one; else through an agent
# started for the purpose, which adopts the processes it finds in the state
# only when their identity (pid and start time) checks out, so that a
# reused pid is never killed.
set -u
agent=$1 config=$2

if out=$("$agent" stop --all --config "$config" 2>&1); then
	echo "$out"
	exit 0
fi
case $out in
*"not running at"*) ;;
*)
	echo "$out" >&2
	exit 1
	;;
esac

log=$(dirname "$config")/demo-stop.log
"$agent" run --config "$config" >"$log" 2>&1 &
pid=$!
# Up to 20 s for it to serve (it may exit at once, e.g. its port is taken).
i=0
until "$agent" ps --config "$config" >/dev/null 2>&1; do
	if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 200 ]; then
		echo "demo-stop: the agent did not come up to stop the demo processes; see $log" >&2
		kill "$pid" 2>/dev/null
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
"$agent" stop --all --config "$config"
status=$?
kill -TERM "$pid"
wait "$pid"
exit $status
