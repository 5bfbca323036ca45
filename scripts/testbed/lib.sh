# shellcheck shell=bash disable=SC2034 # variables are for the sourcing scripts
# Shared by up.sh, down.sh and capture.sh; sourced, not run. Bash only.
#
# The daemons the testbed owns, in start order. Each entry is
#   name:exe
# where name is the file stem under $TESTBED_DIR/pids/ and exe is the
# basename that /proc/PID/exe must resolve to before we trust (or kill) PID.
# PIDs wrap quickly on these machines (pid_max 32768), so a pid file alone
# proves nothing.

TESTBED_DIR=${TESTBED_DIR:-${TMPDIR:-/tmp}/hpc-testbed}
TESTBED_DIR=${TESTBED_DIR%/}
PIDS=$TESTBED_DIR/pids
LOGS=$TESTBED_DIR/logs

# Name -> expected executable basename. Debian ships Slurm's daemons as
# *-wlm binaries behind alternatives symlinks; /usr/sbin/sge_* are wrapper
# scripts around /usr/lib/gridengine/sge_*.
declare -A DAEMON_EXE=(
  [munged]=munged
  [mariadbd]=mariadbd
  [slurmdbd]=slurmdbd
  [slurmctld]=slurmctld
  [slurmd]=slurmd
  [sge_qmaster]=sge_qmaster
  [sge_execd]=sge_execd
  [sshd]=sshd
)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd sge_qmaster sge_execd sshd)

# exe_of PID: the basename of /proc/PID/exe without Debian's -wlm suffix, or
# nothing (rc 1) when PID is gone or a zombie. PID 1 here is not an init and
# reaps orphans late, so a zombie counts as exited.
exe_of() {
  local pid=$1 exe state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]] || return 1
  exe=${exe% (deleted)}
  exe=${exe##*/}
  printf '%s\n' "${exe%-wlm}"
}

# pid_is PID NAME: PID is alive and runs the executable NAME expects.
pid_is() {
  local got
  got=$(exe_of "$1") || return 1
  [[ $got == "${DAEMON_EXE[$2]}" ]]
}

# daemon_pid NAME: prints the recorded PID of NAME if it is alive and is
# really NAME; rc 1 otherwise.
daemon_pid() {
  local f=$PIDS/$1.pid pid
  [[ -s $f ]] || return 1
  read -r pid <"$f" || return 1
  pid_is "$pid" "$1" || return 1
  printf '%s\n' "$pid"
}

# now_ms: wall clock in milliseconds (bash 5 EPOCHREALTIME, no fork).
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  printf '%s\n' "$((t / 1000))"
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds (rc 0)
# or SECONDS (an integer) have passed (rc 1). Every wait in the testbed goes
# through here, so none is unbounded; CMD itself must be bounded too (probes
# that talk to a daemon run under timeout(1)).
wait_until() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  while :; do
    "$@" && return 0
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}
