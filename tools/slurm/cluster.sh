#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, from Debian's packages (slurm-wlm, munge), for the cluster test
# and for trying docs/cluster.md's recipes. The daemons talk over 127.0.0.1 (the host name need not resolve). Everything lives in one folder: its own munged (socket, key, pid, log,
# seed), its own slurmctld and slurmd on two free ports, its own state, spool and logs; nothing under /etc, /run or
# /var is used, so several clusters (parallel test runs) never collide. Needs root (slurmd runs jobs as their user).
#
#   tools/slurm/cluster.sh start DIR        start (or find running) the cluster in DIR; prints `export SLURM_CONF=…`
#   tools/slurm/cluster.sh stop DIR         stop the daemons started in DIR (only those), remove DIR
#   tools/slurm/cluster.sh run DIR CMD…     start, run CMD with SLURM_CONF set, always stop; CMD's exit status
#
# start is idempotent (a cluster already up in DIR is reused; one whose daemons died is restarted); stop is too.
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }

need() {
  for tool in munged mungekey slurmctld slurmd sbatch scontrol sinfo; do
    command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 \
      || die "$tool is missing (apt-get install slurm-wlm munge, or run make)"
  done
  export PATH="$PATH:/usr/sbin:/sbin"
  [ "$(id -u)" = 0 ] || die "the test cluster needs root (slurmd starts the jobs)"
}

# A pid file's process, if it is alive and is the program named (a recycled pid is not ours).
alive() {  # alive PIDFILE PROGRAM
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$2"
}

# A TCP port nobody uses (read from /proc/net/tcp*; held by our daemons from then on: start retries with new ports
# if one was taken in between).
free_port() {
  local p hex
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    hex=$(printf ':%04X' "$p")
    if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2}' | grep -q "$hex\$"; then echo "$p"; return; fi
  done
  die "no free TCP port found"
}

stop_cluster() {
  local dir=$1 name
  [ -d "$dir" ] || return 0
  for name in slurmd slurmctld munged; do
    if alive "$dir/$name.pid" "$name"; then
      kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
      for _ in $(seq 50); do alive "$dir/$name.pid" "$name" || break; sleep 0.1; done
      alive "$dir/$name.pid" "$name" && kill -9 "$(cat "$dir/$name.pid")" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

write_config() {
  local dir=$1 host=$2 ctl=$3 node=$4 cpus
  cpus=$(nproc)
  cat > "$dir/slurm.conf" <<CONF
# Written by tools/slurm/cluster.sh: one node (this machine), everything under $dir.
ClusterName=emopipe$$
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl
SlurmdPort=$node
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_cluster() {
  local dir=$1 host ctl node attempt
  need
  if [ -f "$dir/slurm.conf" ] && alive "$dir/munged.pid" munged && alive "$dir/slurmctld.pid" slurmctld \
     && alive "$dir/slurmd.pid" slurmd; then
    echo "export SLURM_CONF=$dir/slurm.conf"
    return
  fi
  stop_cluster "$dir"
  host=$(hostname -s)
  for attempt in 1 2 3; do
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
    chmod 700 "$dir/munge"
    mungekey -c -k "$dir/munge/munge.key" >/dev/null 2>&1 || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 600 "$dir/munge/munge.key"
    munged -f --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munged.pid" \
      --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" || die "munged did not start ($dir/log/munged.log)"
    ctl=$(free_port); node=$(free_port)
    [ "$ctl" != "$node" ] || node=$((ctl + 1))
    write_config "$dir" "$host" "$ctl" "$node"
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -f "$SLURM_CONF" </dev/null >"$dir/log/slurmctld.out" 2>&1
    slurmd -f "$SLURM_CONF" </dev/null >"$dir/log/slurmd.out" 2>&1
    # Up when the node is idle: slurmd registered with slurmctld (ReturnToService=2).
    for _ in $(seq 150); do
      state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
      [ "$state" = idle ] && { echo "export SLURM_CONF=$SLURM_CONF"; return; }
      sleep 0.2
    done
    echo "cluster.sh: attempt $attempt: node state '${state:-none}'; slurmctld log:" >&2
    tail -5 "$dir/log/slurmctld.log" >&2 || true
    tail -5 "$dir/log/slurmd.log" >&2 || true
    stop_cluster "$dir"
  done
  die "the cluster did not come up"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop DIR, or $0 run DIR CMD…"
case "$cmd" in
  start) start_cluster "$dir" ;;
  stop) stop_cluster "$dir" ;;
  run)
    shift 2
    [ $# -gt 0 ] || die "run: no command"
    trap 'stop_cluster "$dir"' EXIT
    trap 'exit 130' INT TERM HUP
    eval "$(start_cluster "$dir")"
    "$@"
    ;;
  *) die "unknown command $cmd (start, stop, run)" ;;
esac
