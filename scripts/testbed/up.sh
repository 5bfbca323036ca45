#!/usr/bin/env bash
# Brings up the real HPC testbed on this machine, loopback only, as root:
# munge, MariaDB + slurmdbd + slurmctld + slurmd (Slurm 22.05), Grid Engine
# qmaster + execd (8.1.9), and an sshd on 127.0.0.1:2222 (+ [::1]:2222) that
# lets the test user in with a key. Writes $TESTBED_DIR/env.sh for tests.
#
#   scripts/testbed/up.sh --install      fresh Debian 12: apt step, start, smoke test
#   scripts/testbed/up.sh                start whatever is not running, smoke test
#   scripts/testbed/up.sh --no-smoke     same without the smoke test (fault tests)
#   scripts/testbed/up.sh --install-only only the apt step
#
# Idempotent: a daemon that is running (its recorded PID is alive and runs the
# expected executable) is left alone, so a re-run takes about a second and
# restores exactly what a fault test killed. See README.md next to this file.
#
# Knobs (environment): TESTBED_DIR (${TMPDIR:-/tmp}/hpc-testbed),
# TESTBED_USER (hpctest), TESTBED_SSH_PORT (2222), TESTBED_DB_PORT (3307),
# TESTBED_SLURMDBD (1; 0 = no accounting storage, no MariaDB),
# TESTBED_SGE (auto: on unless the host name resolves to a non-loopback
# address; 1 = on or fail; 0 = off), TESTBED_SLURM_CGROUP (auto/1/0),
# TESTBED_SLURM_CPUS (advertise that many CPUs), TESTBED_SLURM_GPUS (4
# count-only GPUs), TESTBED_SMOKE (1).
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

INSTALL=0 INSTALL_ONLY=0 SMOKE=${TESTBED_SMOKE:-1}
for arg in "$@"; do
  case $arg in
    --install) INSTALL=1 ;;
    --install-only) INSTALL=1 INSTALL_ONLY=1 ;;
    --no-smoke) SMOKE=0 ;;
    -h | --help)
      sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "up.sh: unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

TB_USER=${TESTBED_USER:-hpctest}
SSH_PORT=${TESTBED_SSH_PORT:-2222}
DB_PORT=${TESTBED_DB_PORT:-3307}
WANT_DBD=${TESTBED_SLURMDBD:-1}
WANT_SGE=${TESTBED_SGE:-auto}
WANT_CGROUP=${TESTBED_SLURM_CGROUP:-auto}
SLURM_CPUS=${TESTBED_SLURM_CPUS:-}
SLURM_GPUS=${TESTBED_SLURM_GPUS:-4}
HOST=$(hostname -s)
SLURM_ETC=/etc/slurm
SGE_ROOT=/var/lib/gridengine
SGE_CELL=default
export SGE_ROOT SGE_CELL

T0=$(now_ms)
log() { printf 'up.sh: [%5.1fs] %s\n' "$((($(now_ms) - T0) / 100))e-1" "$*" >&2; }
die() {
  printf 'up.sh: error: %s\n' "$*" >&2
  exit 1
}
# tail_log FILE: the last lines of a daemon's log, for an error message.
tail_log() { [[ -f $1 ]] && tail -n 15 "$1" | sed 's/^/    | /' >&2 || true; }

[[ $(id -u) -eq 0 ]] || die "run as root (it creates users and starts system daemons)"

# ---------------------------------------------------------------- packages
# Grid Engine's clients reach the qmaster at whatever the host name resolves
# to: it must be a loopback address (the stock 127.0.0.1 or 127.0.1.1).
SGE_ADDR=$(getent ahostsv4 "$HOST" 2>/dev/null | awk 'NR == 1 { print $1 }')
if [[ $WANT_SGE == auto ]]; then
  if [[ $SGE_ADDR == 127.* ]]; then
    WANT_SGE=1
  else
    WANT_SGE=0
    printf 'up.sh: warning: %s resolves to %s, not to a loopback address: no Grid Engine (TESTBED_SGE=0 in env.sh)\n' \
      "$HOST" "${SGE_ADDR:-nothing}" >&2
  fi
fi
PKGS=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server
  openssh-server openssh-client iproute2 procps util-linux perl)
# A C compiler for bind_loopback.c (see there), unless one is present.
command -v cc >/dev/null 2>&1 || PKGS+=(gcc libc6-dev)
((WANT_SGE)) && PKGS+=(gridengine-master gridengine-exec gridengine-client)

install_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || {
    log "packages already installed"
    return 0
  }
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Grid Engine's postinsts create the cell (init_cluster: berkeleydb spool,
  # root and sgeadmin as managers) only with these answers.
  debconf-set-selections <<EOF
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string default
gridengine-common shared/gridenginemaster string $HOST
EOF
  # No init here: postinsts must not start system copies of the daemons
  # (mariadb, gridengine). Debian's container images ship a policy-rc.d that
  # says so; make one for the duration when it is absent.
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  mkdir -p "$LOGS"
  {
    apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"
  } >>"$LOGS/apt.out" 2>&1 || rc=$?
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  if ((rc)); then
    tail_log "$LOGS/apt.out"
    die "apt-get failed (rc $rc); full log: $LOGS/apt.out"
  fi
  log "packages installed"
}

if ((INSTALL)); then
  mkdir -p "$TESTBED_DIR"
  install_packages
  ((INSTALL_ONLY)) && exit 0
fi
for b in munged slurmctld slurmd sbatch sshd ssh-keygen setpriv ss; do
  command -v "$b" >/dev/null 2>&1 || [[ -x /usr/sbin/$b ]] ||
    die "$b is not installed; run: $0 --install"
done
((WANT_DBD)) && { command -v slurmdbd >/dev/null || die "slurmdbd is not installed; run: $0 --install"; }
((WANT_SGE)) && { [[ -x /usr/lib/gridengine/sge_qmaster ]] || die "Grid Engine is not installed; run: $0 --install (or TESTBED_SGE=0)"; }

# ------------------------------------------------------------- directories
# The slurm and mysql users write below $TESTBED_DIR: every parent must be
# searchable by others.
check_parents() {
  local d=$1
  while [[ $d != / && -n $d ]]; do
    d=$(dirname "$d")
    [[ $(($(stat -c '%#a' "$d") & 1)) -eq 1 ]] ||
      die "$d is not searchable by other users (o+x); choose another TESTBED_DIR"
  done
}
mkdir -p "$TESTBED_DIR"
check_parents "$TESTBED_DIR"
chmod 755 "$TESTBED_DIR"
: >"$TESTBED_DIR/.hpc-testbed" # down.sh --purge only deletes a dir with this marker

# One up.sh at a time (tests may call it concurrently after a fault).
exec 9>"$TESTBED_DIR/.lock"
flock -w 120 9 || die "another up.sh holds $TESTBED_DIR/.lock for more than 120 s"

install -d -m 755 "$PIDS" "$LOGS"
install -d -m 700 "$TESTBED_DIR/ssh"

# ------------------------------------------------------------- daemon glue
# slurmdbd and Grid Engine bind INADDR_ANY with no option to change it; this
# LD_PRELOAD shim turns that into loopback (see bind_loopback.c).
SHIM=$TESTBED_DIR/lib/bind_loopback.so
if [[ ! -s $SHIM || $HERE/bind_loopback.c -nt $SHIM ]]; then
  command -v cc >/dev/null 2>&1 || die "no C compiler for bind_loopback.c; run: $0 --install"
  install -d -m 755 "$TESTBED_DIR/lib"
  cc -shared -fPIC -O2 -Wall -o "$SHIM.tmp" "$HERE/bind_loopback.c" -ldl ||
    die "could not build $SHIM"
  chmod 755 "$SHIM.tmp"
  mv -f "$SHIM.tmp" "$SHIM"
fi

STARTED=() # names started by this run

# start_daemon NAME CMD...: starts CMD in the foreground of its own session,
# detached from us (setsid -f) with every stdio on $LOGS/NAME.out (a daemon
# that inherits CI's stdout hangs CI), records its PID and waits (bounded)
# until that PID runs NAME's executable.
start_daemon() {
  local name=$1 pidf=$PIDS/$1.pid
  shift
  rm -f "$pidf"
  printf '\n=== %s start: %s\n' "$(date -Is)" "$*" >>"$LOGS/$name.out"
  # shellcheck disable=SC2016
  # fd 9 is our lock: the daemon must not inherit it.
  setsid -f bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" "$@" \
    </dev/null >>"$LOGS/$name.out" 2>&1 9>&-
  local pid=
  ready() {
    [[ -s $pidf ]] || return 1
    read -r pid <"$pidf"
    pid_is "$pid" "$name"
  }
  if ! wait_until 10 ready; then
    tail_log "$LOGS/$name.out"
    die "$name did not start (see $LOGS/$name.out)"
  fi
  STARTED+=("$name")
  log "started $name (pid $pid)"
}

# start_forking NAME PIDFILE CMD...: for a daemon that must be left to
# daemonize itself: starts CMD the same way, then adopts the PID the daemon
# writes to its own PIDFILE.
start_forking() {
  local name=$1 own=$2 pidf=$PIDS/$1.pid pid=
  shift 2
  rm -f "$pidf"
  if [[ -s $own ]] && read -r pid <"$own" && pid_is "$pid" "$name"; then
    echo "$pid" >"$pidf" # running, but not recorded by us: adopt it
    log "adopted running $name (pid $pid)"
    return 0
  fi
  rm -f "$own"
  printf '\n=== %s start: %s\n' "$(date -Is)" "$*" >>"$LOGS/$name.out"
  setsid -f "$@" </dev/null >>"$LOGS/$name.out" 2>&1 9>&-
  adopted() {
    [[ -s $own ]] || return 1
    read -r pid <"$own"
    pid_is "$pid" "$name" || return 1
    echo "$pid" >"$pidf"
  }
  if ! wait_until 20 adopted; then
    tail_log "$LOGS/$name.out"
    die "$name did not start (see $LOGS/$name.out)"
  fi
  STARTED+=("$name")
  log "started $name (pid $pid)"
}

# running NAME: the recorded daemon is alive.
running() { daemon_pid "$1" >/dev/null; }

# wait_ready NAME SECONDS CMD...: bounded wait for a daemon's own readiness
# probe; on failure shows its logs and exits.
wait_ready() {
  local name=$1 secs=$2
  shift 2
  if ! wait_until "$secs" "$@"; then
    tail_log "$LOGS/$name.out"
    [[ -f $LOGS/$name.log ]] && tail_log "$LOGS/$name.log"
    die "$name is not ready after ${secs}s"
  fi
}

# write_if_changed FILE MODE OWNER: stdin -> FILE when the content differs;
# rc 0 when it changed, 1 when it was already up to date.
write_if_changed() {
  local f=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp "$f.XXXXXX")
  cat >"$tmp"
  if [[ -f $f ]] && cmp -s "$tmp" "$f"; then
    rm -f "$tmp"
    chmod "$mode" "$f"
    chown "$owner" "$f"
    return 1
  fi
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$f"
  return 0
}

# stop_recorded NAME: stops a running recorded daemon (config changed).
stop_recorded() {
  local pid
  pid=$(daemon_pid "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_until 20 eval '! pid_is '"$pid"' '"$1" || kill -KILL "$pid" 2>/dev/null || true
  log "stopped $1 (pid $pid) ${2:-to apply a new configuration}"
}

# ------------------------------------------------------------------ users
if ! id "$TB_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --user-group "$TB_USER"
  log "created user $TB_USER"
fi
# With UsePAM no, sshd refuses a locked account ('!' from useradd) even for
# key authentication; '*' means "no password" without the lock.
[[ $(getent shadow "$TB_USER" | cut -d: -f2) == '*' ]] || usermod -p '*' "$TB_USER"
TB_HOME=$(getent passwd "$TB_USER" | cut -d: -f6)
TB_UID=$(id -u "$TB_USER")
[[ -d $TB_HOME ]] || install -d -m 755 -o "$TB_USER" -g "$TB_USER" "$TB_HOME"

# Shared work directory: the test user writes job scripts and logs there,
# root (the tests) reads them.
WORK=$TESTBED_DIR/work
install -d -m 755 -o "$TB_USER" -g "$TB_USER" "$WORK"

# ------------------------------------------------------------------ munge
install -d -m 755 -o munge -g munge /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  install -d -m 700 -o munge -g munge /etc/munge
  (umask 077 && dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none)
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
munge_ok() { timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; }
if ! running munged; then
  # munged daemonizes unless -F; setpriv execs it as the munge user directly
  # (runuser would stay in between as the recorded PID).
  start_daemon munged setpriv --reuid=munge --regid=munge --init-groups \
    /usr/sbin/munged --foreground
  wait_ready munged 10 munge_ok
fi

# ---------------------------------------------------------------- MariaDB
DB=$TESTBED_DIR/mysql
DB_SOCK=$DB/mysqld.sock
db_sql() { timeout 20 mariadb --no-defaults --socket="$DB_SOCK" -uroot --batch --skip-column-names; }
if ((WANT_DBD)); then
  install -d -m 755 -o mysql -g mysql "$DB"
  if [[ ! -d $DB/data/mysql ]]; then
    rm -rf "$DB/data"
    install -d -m 750 -o mysql -g mysql "$DB/data"
    log "initialising MariaDB datadir"
    mariadb-install-db --no-defaults --datadir="$DB/data" --user=mysql \
      --auth-root-authentication-method=socket --skip-test-db \
      >>"$LOGS/mariadbd.out" 2>&1 || {
      tail_log "$LOGS/mariadbd.out"
      die "mariadb-install-db failed"
    }
  fi
  if ! running mariadbd; then
    start_daemon mariadbd /usr/sbin/mariadbd --no-defaults --datadir="$DB/data" \
      --user=mysql --socket="$DB_SOCK" --pid-file="$DB/mariadbd.pid" \
      --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
      --innodb-buffer-pool-size=256M --innodb-log-file-size=64M \
      --innodb-lock-wait-timeout=900 --max-connections=200
    wait_ready mariadbd 30 eval 'timeout 5 mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot ping >/dev/null 2>&1'
  fi
  # slurmdbd's database account: a random password kept in a root-only file
  # and in the root-only slurmdbd.conf; never printed.
  DB_PASS_FILE=$DB/slurmdbd.pass
  if [[ ! -s $DB_PASS_FILE ]] || [[ " ${STARTED[*]} " == *" mariadbd "* ]]; then
    if [[ ! -s $DB_PASS_FILE ]]; then
      (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DB_PASS_FILE")
    fi
    {
      printf "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '%s';\n" "$(cat "$DB_PASS_FILE")"
      printf "ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '%s';\n" "$(cat "$DB_PASS_FILE")"
      printf "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';\n"
    } | db_sql || die "could not create the slurm database user"
  fi
fi

# ------------------------------------------------------------------ Slurm
SL=$TESTBED_DIR/slurm
install -d -m 755 -o slurm -g slurm "$SL" "$SL/state" "$SL/run"
install -d -m 755 "$SL/spool" "$SLURM_ETC"
for f in slurmctld.log slurmdbd.log; do
  [[ -e $LOGS/$f ]] || install -m 640 -o slurm -g slurm /dev/null "$LOGS/$f"
done

# cgroup v1 with memory + freezer mounted rw gives real OUT_OF_MEMORY states;
# without it --mem is not enforced.
cgroup_v1_ok() {
  local c
  for c in memory freezer cpuset; do
    grep -qE "^cgroup /sys/fs/cgroup/$c cgroup (rw|[^ ]*,rw)[, ]" /proc/mounts ||
      grep -qE "^[^ ]+ /sys/fs/cgroup/$c cgroup rw" /proc/mounts || return 1
  done
}
case $WANT_CGROUP in
  1) USE_CGROUP=1 ;;
  0) USE_CGROUP=0 ;;
  *) if cgroup_v1_ok; then USE_CGROUP=1; else USE_CGROUP=0; fi ;;
esac

# The node line: real topology from slurmd -C; memory rounded down to whole
# GiB so that the line (and so slurm.conf) is stable between runs.
node_line() {
  local line mem
  line=$(slurmd -C 2>/dev/null | head -n 1)
  [[ $line == NodeName=* ]] || die "slurmd -C gave no node line"
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$line")
  mem=$((mem / 1024 * 1024 - 512))
  ((mem > 1024)) || mem=1024
  line=$(sed "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$line")
  if [[ -n $SLURM_CPUS ]]; then
    line="NodeName=$HOST CPUs=$SLURM_CPUS RealMemory=$mem"
  fi
  printf '%s Gres=gpu:%s NodeAddr=127.0.0.1 State=UNKNOWN\n' "$line" "$SLURM_GPUS"
}

if ((USE_CGROUP)); then
  PROCTRACK=proctrack/cgroup TASKPLUGIN=task/cgroup
else
  PROCTRACK=proctrack/linuxproc TASKPLUGIN=task/none
fi
if ((WANT_DBD)); then
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStoreFlags=job_comment"
else
  ACCT="AccountingStorageType=accounting_storage/none"
fi

slurm_conf_changed=0 cgroup_conf_changed=0 dbd_conf_changed=0
write_if_changed "$SLURM_ETC/slurm.conf" 644 root:root <<EOF && slurm_conf_changed=1 || true
# Generated by scripts/testbed/up.sh (hpc-mcp testbed); rewritten on every run.
ClusterName=testbed
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
# Bind to the configured (loopback) addresses, not INADDR_ANY.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/run/slurmctld.pid
SlurmdPidFile=$SL/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=$PROCTRACK
TaskPlugin=$TASKPLUGIN
ReturnToService=2
MinJobAge=300
# Every array task counts against MaxJobCount (10,000 by default) from its
# submission until MinJobAge after it ended: the sweep tests and benchmark
# submit 5,000- and 10,000-task sweeps. Production sites raise it as well.
MaxJobCount=100000
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
$ACCT
JobCompType=jobcomp/filetxt
JobCompLoc=$SL/jobcomp.txt
# Stand-in GPUs (gres.conf below): jobs asking for --gres=gpu:N are
# scheduled, accounted and given CUDA_VISIBLE_DEVICES as on a GPU cluster.
GresTypes=gpu
AccountingStorageTRES=gres/gpu
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
${SLURM_CPUS:+SlurmdParameters=config_overrides}
$(node_line)
PartitionName=debug Nodes=ALL Default=YES PriorityTier=1 DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP
PartitionName=urgent Nodes=ALL Default=NO PriorityTier=10 DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP
EOF
# Slurm 22.05 counts a GPU only with a device file behind it: stand-ins
# with /dev/null's numbers (harmless to open; ConstrainDevices is off).
install -d -m 755 "$TESTBED_DIR/dev"
for ((g = 0; g < SLURM_GPUS; g++)); do
  [[ -c $TESTBED_DIR/dev/gpu$g ]] || mknod -m 666 "$TESTBED_DIR/dev/gpu$g" c 1 3
done
write_if_changed "$SLURM_ETC/gres.conf" 644 root:root <<EOF && cgroup_conf_changed=1 || true
# Generated by scripts/testbed/up.sh (hpc-mcp testbed): GPUs without GPUs.
AutoDetect=off
NodeName=$HOST Name=gpu File=$TESTBED_DIR/dev/gpu[0-$((SLURM_GPUS - 1))]
EOF
write_if_changed "$SLURM_ETC/cgroup.conf" 644 root:root <<EOF && cgroup_conf_changed=1 || true
# Generated by scripts/testbed/up.sh (hpc-mcp testbed).
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
EOF
if ((WANT_DBD)); then
  write_if_changed "$SLURM_ETC/slurmdbd.conf" 600 slurm:slurm <<EOF && dbd_conf_changed=1 || true
# Generated by scripts/testbed/up.sh (hpc-mcp testbed). Holds a password: 0600.
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=$HOST
DbdPort=6819
SlurmUser=slurm
LogFile=$LOGS/slurmdbd.log
PidFile=$SL/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$(cat "$DB_PASS_FILE")
StorageLoc=slurm_acct_db
EOF
fi
if ((slurm_conf_changed || cgroup_conf_changed)); then
  stop_recorded slurmd
  stop_recorded slurmctld
fi
((dbd_conf_changed)) && stop_recorded slurmdbd

if ((WANT_DBD)); then
  dbd_ok() { timeout 5 sacctmgr -n -P show cluster format=cluster >/dev/null 2>&1; }
  if ! running slurmdbd; then
    start_daemon slurmdbd env LD_PRELOAD="$SHIM" /usr/sbin/slurmdbd -D
    wait_ready slurmdbd 30 dbd_ok
  fi
  # Cluster, account and the test user's association (idempotent; only
  # looked at when slurmdbd or the database was (re)started this run).
  if [[ " ${STARTED[*]} " == *" slurmdbd "* || " ${STARTED[*]} " == *" mariadbd "* ]]; then
    sacctmgr -n -P show cluster format=cluster 2>/dev/null | grep -qx testbed ||
      timeout 20 sacctmgr -i add cluster testbed >/dev/null
    sacctmgr -n -P show account format=account 2>/dev/null | grep -qx testbed_acct ||
      timeout 20 sacctmgr -i add account testbed_acct cluster=testbed \
        description=hpc-mcp-testbed organization=testbed >/dev/null
    sacctmgr -n -P show assoc where user="$TB_USER" format=account 2>/dev/null | grep -qx testbed_acct ||
      timeout 20 sacctmgr -i add user "$TB_USER" account=testbed_acct \
        defaultaccount=testbed_acct cluster=testbed >/dev/null
  fi
fi

ctld_ok() { timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; }
if ! running slurmctld; then
  start_daemon slurmctld /usr/sbin/slurmctld -D
  wait_ready slurmctld 30 ctld_ok
fi
# The node is usable once slurmctld hears from slurmd: "idle*" (not
# responding) or "unk*" right after either one (re)started; jobs submitted
# then pend with ReqNodeNotAvail, and sacct keeps that reason.
node_state() { timeout 5 sinfo -h -n "$HOST" -o '%t' 2>/dev/null | head -n 1; }
node_ok() { [[ $(node_state) =~ ^(idle|mix|alloc|comp)$ ]]; }
if ! running slurmd; then
  start_daemon slurmd /usr/sbin/slurmd -D
fi
if [[ " ${STARTED[*]} " == *" slurmd "* || " ${STARTED[*]} " == *" slurmctld "* ]]; then
  # A restarted slurmctld waits for the running slurmd's next registration
  # (~7 s); "scontrol reconfigure" asks for it at once.
  wait_until 1 node_ok || timeout 10 scontrol reconfigure >/dev/null 2>&1 || true
  if ! wait_until 20 node_ok; then
    # A node left DOWN/DRAIN by an earlier fault test: resume it once.
    timeout 10 scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    wait_ready slurmd 15 node_ok
  fi
fi

# ------------------------------------------------------------ Grid Engine
SGE_COMMON=$SGE_ROOT/$SGE_CELL/common
if ((WANT_SGE)); then
  # The daemons are started without Debian's /usr/sbin wrapper scripts (a
  # shell in between would drop the LD_PRELOAD shim), so set what they set.
  SGE_ARCH=$(sed -n 's/^SGE_ARCH=\([^;]*\);.*/\1/p' "$SGE_ROOT/$SGE_CELL/common/settings.sh" 2>/dev/null)
  [[ -n $SGE_ARCH ]] || SGE_ARCH=$(/usr/share/gridengine/util/arch)
  export SGE_ARCH
  # The Debian postinst creates the cell when debconf said so (up.sh
  # --install preseeds it); do it here if the packages came without.
  if [[ ! -s $SGE_COMMON/bootstrap || ! -d /var/spool/gridengine/spooldb ]] ||
    [[ -z $(ls -A /var/spool/gridengine/spooldb 2>/dev/null) ]]; then
    log "initialising the Grid Engine cell"
    install -d -m 755 -o sgeadmin -g sgeadmin /var/spool/gridengine/spooldb \
      /var/spool/gridengine/qmaster /var/spool/gridengine/qmaster/job_scripts
    su -s /bin/sh -c "/usr/share/gridengine/scripts/init_cluster $SGE_ROOT $SGE_CELL /var/spool/gridengine/spooldb sgeadmin" sgeadmin \
      >>"$LOGS/sge_qmaster.out" 2>&1 || die "init_cluster failed (see $LOGS/sge_qmaster.out)"
  fi
  [[ $(cat "$SGE_COMMON/act_qmaster" 2>/dev/null) == "$HOST" ]] ||
    install -m 644 -o sgeadmin -g sgeadmin <(echo "$HOST") "$SGE_COMMON/act_qmaster"
  # /etc/hosts lists "127.0.0.1 localhost" before "127.0.0.1 <host>": the
  # qmaster resolves its clients to "localhost" and rejects them unless
  # that is an alias of the host name.
  [[ $SGE_ADDR == 127.* ]] ||
    die "$HOST resolves to ${SGE_ADDR:-nothing}, not to a loopback address; Grid Engine needs that (use TESTBED_SGE=0)"
  [[ $(cat "$SGE_COMMON/host_aliases" 2>/dev/null) == "$HOST localhost" ]] ||
    install -m 644 -o sgeadmin -g sgeadmin <(echo "$HOST localhost") "$SGE_COMMON/host_aliases"

  qm_ok() { timeout 5 qstat -u '*' >/dev/null 2>&1; }
  if ! running sge_qmaster; then
    # Left to daemonize: in the foreground (SGE_ND) it prints every
    # scheduler run to stdout, once a second.
    qm_spool=$(awk '$1 == "qmaster_spool_dir" { print $2 }' "$SGE_COMMON/bootstrap")
    start_forking sge_qmaster "${qm_spool:-/var/spool/gridengine/qmaster}/qmaster.pid" \
      env LD_PRELOAD="$SHIM" TESTBED_BIND_ADDR="$SGE_ADDR" /usr/lib/gridengine/sge_qmaster
    wait_ready sge_qmaster 30 qm_ok
  fi
  # Queue configuration: applied when the qmaster was (re)started or this
  # script's settings changed.
  SGE_DIR=$TESTBED_DIR/sge
  install -d -m 755 "$SGE_DIR"
  SLOTS=$(nproc)
  sge_conf_changed=0
  {
    # Global configuration values we change: load reports every 10 s (not
    # 40), accounting flushed every second (else qacct lags 15 s), an execd
    # unheard of for a minute is marked down (not 5).
    write_if_changed "$SGE_DIR/global.want" 644 root:root <<EOF && sge_conf_changed=1 || true
load_report_time 00:00:10
max_unheard 00:01:00
reporting_params accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00
EOF
    write_if_changed "$SGE_DIR/sconf" 644 root:root <<EOF && sge_conf_changed=1 || true
algorithm                         default
schedule_interval                 0:0:1
maxujobs                          0
queue_sort_method                 load
job_load_adjustments              np_load_avg=0.50
load_adjustment_decay_time        0:7:30
load_formula                      np_load_avg
schedd_job_info                   true
flush_submit_sec                  1
flush_finish_sec                  1
params                            none
reprioritize_interval             0:0:0
halftime                          168
usage_weight_list                 cpu=1.000000,mem=0.000000,io=0.000000
compensation_factor               5.000000
weight_user                       0.250000
weight_project                    0.250000
weight_department                 0.250000
weight_job                        0.250000
weight_tickets_functional         0
weight_tickets_share              0
share_override_tickets            TRUE
share_functional_shares           TRUE
max_functional_jobs_to_schedule   200
report_pjob_tickets               TRUE
max_pending_tasks_per_job         50
halflife_decay_list               none
policy_hierarchy                  OFS
weight_ticket                     0.500000
weight_waiting_time               0.278000
weight_deadline                   3600000.000000
weight_urgency                    0.500000
weight_priority                   0.000000
max_reservation                   0
default_duration                  INFINITY
EOF
    write_if_changed "$SGE_DIR/smp.pe" 644 root:root <<EOF && sge_conf_changed=1 || true
pe_name            smp
slots              999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
    write_if_changed "$SGE_DIR/exechost" 644 root:root <<EOF && sge_conf_changed=1 || true
hostname              $HOST
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
    write_if_changed "$SGE_DIR/all.q" 644 root:root <<EOF && sge_conf_changed=1 || true
qname                 all.q
hostlist              $HOST
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               smp
rerun                 FALSE
slots                 $SLOTS
tmpdir                /tmp
shell                 /bin/bash
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
  }
  # The configuration lives in the qmaster's spool and survives restarts;
  # (re)apply it when our files changed, or it was never applied to this
  # cell (no marker, or no all.q: the cell was re-created).
  if ((sge_conf_changed)) || [[ ! -e $SGE_DIR/applied ]] || {
    [[ " ${STARTED[*]} " == *" sge_qmaster "* ]] &&
      ! timeout 10 qconf -sql 2>/dev/null | grep -qx all.q
  }; then
    rm -f "$SGE_DIR/applied"
    log "configuring Grid Engine (queue all.q, PE smp)"
    q() { timeout 20 qconf "$@" >>"$LOGS/sge_qconf.out" 2>&1; }
    # Global configuration: the current one with our values (global.want)
    # substituted; qconf -Mconf takes the name from the file name: "global".
    # qconf -sconf wraps long values with "\" continuations: join them, and
    # drop any line whose attribute name holds "=" (a mangled earlier edit).
    install -d -m 755 "$SGE_DIR/conf"
    timeout 20 qconf -sconf global |
      sed -e :a -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' |
      awk 'NR == FNR { k = $1; $1 = ""; want[k] = substr($0, 2); next }
           /^#/ || $1 ~ /=/ { next }
           ($1 in want) { printf "%-28s %s\n", $1, want[$1]; next }
           { print }' "$SGE_DIR/global.want" - >"$SGE_DIR/conf/global"
    q -Mconf "$SGE_DIR/conf/global" || die "qconf -Mconf failed (see $LOGS/sge_qconf.out)"
    q -Msconf "$SGE_DIR/sconf" || die "qconf -Msconf failed"
    timeout 5 qconf -sh 2>/dev/null | grep -qx "$HOST" || q -ah "$HOST"
    timeout 5 qconf -ss 2>/dev/null | grep -qx "$HOST" || q -as "$HOST"
    if timeout 5 qconf -sel 2>/dev/null | grep -qx "$HOST"; then
      q -Me "$SGE_DIR/exechost"
    else
      q -Ae "$SGE_DIR/exechost" || die "qconf -Ae failed"
    fi
    if timeout 5 qconf -spl 2>/dev/null | grep -qx smp; then
      q -Mp "$SGE_DIR/smp.pe"
    else
      q -Ap "$SGE_DIR/smp.pe" || die "qconf -Ap failed"
    fi
    if timeout 5 qconf -sql 2>/dev/null | grep -qx all.q; then
      q -Mq "$SGE_DIR/all.q" || die "qconf -Mq failed"
    else
      q -Aq "$SGE_DIR/all.q" || die "qconf -Aq failed"
    fi
    : >"$SGE_DIR/applied"
  fi
  # all.q@HOST is usable once its execd has registered: the state column
  # of qstat -f is empty (u = unknown, E = error, d = disabled, ...).
  queue_state() {
    timeout 5 qstat -f -q all.q 2>/dev/null |
      awk -v q="all.q@$HOST" '$1 == q { print (NF >= 6 ? $6 : "ok") }'
  }
  queue_ok() { [[ $(queue_state) == ok ]]; }
  # A restarted qmaster hears from a running execd only after ~25 s; a
  # restarted execd registers at once (running jobs are not touched).
  if [[ " ${STARTED[*]} " == *" sge_qmaster "* ]] && running sge_execd; then
    stop_recorded sge_execd "to re-register with the new qmaster"
  fi
  if ! running sge_execd; then
    start_daemon sge_execd env LD_PRELOAD="$SHIM" TESTBED_BIND_ADDR="$SGE_ADDR" SGE_ND=true /usr/lib/gridengine/sge_execd
  fi
  if [[ " ${STARTED[*]} " == *" sge_"* ]] && ! wait_until 30 queue_ok; then
    # An error state left by an earlier job or fault: clear it once.
    [[ $(queue_state) == *E* ]] && timeout 10 qmod -c "all.q@$HOST" >/dev/null 2>&1
    wait_ready sge_execd 15 queue_ok
  fi
fi

# ------------------------------------------------------------------- sshd
SSHD_DIR=$TESTBED_DIR/ssh
HOSTKEY=$SSHD_DIR/ssh_host_ed25519_key
CLIENTKEY=$SSHD_DIR/id_ed25519
KNOWN=$SSHD_DIR/known_hosts
SSH_CONFIG=$SSHD_DIR/ssh_config
[[ -s $HOSTKEY ]] || ssh-keygen -q -t ed25519 -N '' -C "hpc-testbed-host" -f "$HOSTKEY"
[[ -s $CLIENTKEY ]] || ssh-keygen -q -t ed25519 -N '' -C "hpc-testbed-client" -f "$CLIENTKEY"
chmod 600 "$HOSTKEY" "$CLIENTKEY"
HAVE_V6=0
grep -qE '^0{31}1 ' /proc/net/if_inet6 2>/dev/null && HAVE_V6=1

# authorized_keys stays in the user's home: sshd opens it as the user.
install -d -m 700 -o "$TB_USER" -g "$TB_USER" "$TB_HOME/.ssh"
write_if_changed "$TB_HOME/.ssh/authorized_keys" 600 "$TB_USER:$TB_USER" <"$CLIENTKEY.pub" || true
{
  hk=$(cut -d' ' -f1,2 "$HOSTKEY.pub")
  echo "[127.0.0.1]:$SSH_PORT $hk"
  echo "[localhost]:$SSH_PORT $hk"
  echo "[::1]:$SSH_PORT $hk"
} | write_if_changed "$KNOWN" 644 root:root || true
sshd_changed=0
write_if_changed "$SSHD_DIR/sshd_config" 600 root:root <<EOF && sshd_changed=1 || true
# Generated by scripts/testbed/up.sh (hpc-mcp testbed).
Port $SSH_PORT
ListenAddress 127.0.0.1
$( ((HAVE_V6)) && echo "ListenAddress ::1")
HostKey $HOSTKEY
PidFile none
AllowUsers $TB_USER
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
StrictModes yes
MaxSessions 64
MaxStartups 64:30:128
X11Forwarding no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
write_if_changed "$SSH_CONFIG" 644 root:root <<EOF || true
# For the OpenSSH client: ssh -F "\$TESTBED_SSH_CONFIG" testbed CMD
Host testbed testbed4
  HostName 127.0.0.1
Host testbed6
  HostName ::1
Host testbed testbed4 testbed6
  Port $SSH_PORT
  User $TB_USER
  IdentityFile $CLIENTKEY
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  CheckHostIP no
  BatchMode yes
  PasswordAuthentication no
  ConnectTimeout 10
  ServerAliveInterval 15
  LogLevel ERROR
EOF
((sshd_changed)) && stop_recorded sshd
install -d -m 755 /run/sshd
/usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" || die "sshd_config is invalid"
ssh_ok() { timeout 10 ssh -F "$SSH_CONFIG" testbed true </dev/null >/dev/null 2>&1; }
if ! running sshd; then
  # Absolute path: sshd re-executes itself.
  start_daemon sshd /usr/sbin/sshd -D -f "$SSHD_DIR/sshd_config" -E "$LOGS/sshd.log"
  wait_ready sshd 10 ssh_ok
fi

# ---------------------------------------------------------------- env.sh
PARTITIONS=debug,urgent
tmp=$(mktemp "$TESTBED_DIR/env.sh.XXXXXX")
{
  echo "# Generated by scripts/testbed/up.sh; source it: . \"\$TESTBED_DIR/env.sh\""
  for kv in \
    "TESTBED_DIR=$TESTBED_DIR" \
    "TESTBED_SSH_HOST=127.0.0.1" \
    "TESTBED_SSH_HOST6=$( ((HAVE_V6)) && echo ::1)" \
    "TESTBED_SSH_PORT=$SSH_PORT" \
    "TESTBED_SSH_USER=$TB_USER" \
    "TESTBED_SSH_UID=$TB_UID" \
    "TESTBED_SSH_HOME=$TB_HOME" \
    "TESTBED_SSH_KEY=$CLIENTKEY" \
    "TESTBED_SSH_PUBKEY=$CLIENTKEY.pub" \
    "TESTBED_KNOWN_HOSTS=$KNOWN" \
    "TESTBED_SSH_CONFIG=$SSH_CONFIG" \
    "TESTBED_SSH_ALIAS=testbed" \
    "TESTBED_WORK=$WORK" \
    "TESTBED_PIDS=$PIDS" \
    "TESTBED_LOGS=$LOGS" \
    "TESTBED_HOSTNAME=$HOST" \
    "TESTBED_SLURM_CLUSTER=testbed" \
    "TESTBED_SLURM_PARTITIONS=$PARTITIONS" \
    "TESTBED_SLURM_DEFAULT_PARTITION=debug" \
    "TESTBED_SLURM_ACCOUNT=$( ((WANT_DBD)) && echo testbed_acct)" \
    "TESTBED_SLURM_ACCOUNTING=$WANT_DBD" \
    "TESTBED_SLURM_CGROUP=$USE_CGROUP" \
    "TESTBED_SLURM_GPUS=$SLURM_GPUS" \
    "TESTBED_SGE=$WANT_SGE" \
    "TESTBED_SGE_QUEUE=$( ((WANT_SGE)) && echo all.q)" \
    "TESTBED_SGE_PE=$( ((WANT_SGE)) && echo smp)" \
    "TESTBED_SGE_ROOT=$( ((WANT_SGE)) && echo "$SGE_ROOT")" \
    "TESTBED_SGE_CELL=$( ((WANT_SGE)) && echo "$SGE_CELL")"; do
    v=${kv#*=}
    printf "export %s='%s'\n" "${kv%%=*}" "${v//\'/\'\\\'\'}"
  done
} >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$TESTBED_DIR/env.sh"

# ------------------------------------------------- loopback-only guard
# Every listening socket of the processes we own must be on 127.0.0.1 / ::1.
bad=$(ss -Hltnp 2>/dev/null | awk '{ print $4, $0 }' |
  grep -vE '^(127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):[0-9]+ ' |
  grep -E ':(6817|6818|6819|6444|6445|'"$SSH_PORT|$DB_PORT"') ' || true)
if [[ -n $bad ]]; then
  printf '%s\n' "$bad" | cut -d' ' -f2- >&2
  die "a testbed port listens on a non-loopback address"
fi

# ------------------------------------------------------------ smoke test
if ((SMOKE)); then
  log "smoke test over ssh as $TB_USER"
  sshx() { timeout 30 ssh -F "$SSH_CONFIG" testbed "$@" </dev/null; }
  smoke_slurm() {
    local id st
    id=$(sshx sbatch --parsable --job-name=smoke --output=/dev/null --wrap true) || return 1
    id=${id%%;*}
    slurm_done() {
      if ((WANT_DBD)); then
        st=$(sshx sacct -X -n -P -j "$id" -o State 2>/dev/null | head -n 1)
      else # no accounting: the controller's record (kept MinJobAge = 300 s)
        st=$(sshx scontrol show job -o "$id" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p')
      fi
      [[ $st == COMPLETED ]]
    }
    wait_until 30 slurm_done || {
      echo "slurm smoke job $id: state '${st:-none}'" >&2
      return 1
    }
  }
  smoke_sge() {
    local id
    id=$(sshx qsub -terse -b y -N smoke -o /dev/null -e /dev/null true) || return 1
    sge_done() { ! sshx qstat -j "$id" >/dev/null 2>&1; }
    wait_until 30 sge_done || {
      echo "sge smoke job $id still in qstat" >&2
      return 1
    }
  }
  smoke_slurm >"$LOGS/smoke_slurm.out" 2>&1 &
  p1=$!
  p2=
  if ((WANT_SGE)); then
    smoke_sge >"$LOGS/smoke_sge.out" 2>&1 &
    p2=$!
  fi
  rc=0
  wait "$p1" || {
    cat "$LOGS/smoke_slurm.out" >&2
    rc=1
  }
  if [[ -n $p2 ]]; then
    wait "$p2" || {
      cat "$LOGS/smoke_sge.out" >&2
      rc=1
    }
  fi
  ((rc == 0)) || die "smoke test failed"
  log "smoke test passed (Slurm sbatch -> COMPLETED$( ((WANT_DBD)) && echo ' in sacct')${p2:+, SGE qsub -> done})"
fi

if ((${#STARTED[@]})); then
  log "ready; started: ${STARTED[*]}; . $TESTBED_DIR/env.sh"
else
  log "ready; everything was already running; . $TESTBED_DIR/env.sh"
fi
