# Sourced by setup.sh and stop.sh: the pid in a daemon's pid file, trusted only when that
# process is alive and really is the daemon (a stale pid file may name a reused pid).
# usage: daemon_pid FILE NAME  -> prints the pid, or nothing
daemon_pid() {
  local file=$1 name=$2 pid comm
  [ -f "$file" ] || return 0
  pid=$(tr -dc '0-9' < "$file")
  [ -n "$pid" ] || return 0
  [ -r "/proc/$pid/cmdline" ] || return 0
  comm=$(tr '\0' ' ' < "/proc/$pid/cmdline" | awk '{print $1}')
  [ "$(basename "$comm")" = "$name" ] || return 0
  printf '%s\n' "$pid"
}
