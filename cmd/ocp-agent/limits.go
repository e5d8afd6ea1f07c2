package main

// limits are the resource limits of a running process as ps -l shows
// them: the soft limit, "unlimited", or "-" when unknown (not running, or
// /proc/PID/limits not readable by the caller).
type limits struct {
	nofile, nproc, core string
}

// noLimits is what ps -l shows for a process whose limits are unknown.
var noLimits = limits{"-", "-", "-"}
