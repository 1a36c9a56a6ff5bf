#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing the Slurm profile (`make test-slurm`).
#
#   scripts/single-node-slurm.sh start          install slurm-wlm and munge with apt when missing, start munged,
#                                                slurmctld and slurmd; prints the SLURM_CONF to export
#   scripts/single-node-slurm.sh stop           stop the daemons this script started (by their pids)
#   scripts/single-node-slurm.sh run -- CMD...  start, run CMD with SLURM_CONF set, stop (also when CMD fails)
#
# Everything lives in $SLURM_STATE (default /tmp/attrunlearn-slurm): slurm.conf, munge key and socket, spool,
# logs, pids; /etc/slurm/slurm.conf is a link to that slurm.conf while the cluster runs (the script refuses to
# start on a machine that has its own). Needs root (apt, daemons); no systemd, no accounting (sacct answers
# nothing: the test tells the profile to poll with squeue).
set -euo pipefail

STATE=${SLURM_STATE:-/tmp/attrunlearn-slurm}
CONF=$STATE/slurm.conf
STARTED=$STATE/started.pids   # "name pid" per daemon this script started
# The jobstep plugin strips SLURM_* (SLURM_CONF too) before its srun inside a job, so srun reads the default
# path: we link it to our config while the cluster runs, and only when no other config is there.
SYSTEM_CONF=/etc/slurm/slurm.conf

fail() { echo "single-node-slurm: $*" >&2; exit 1; }

install_missing() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurm-wlm)
    command -v munged >/dev/null || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || fail "needs root to install ${missing[*]} with apt"
    echo "single-node-slurm: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$STATE/apt.log" 2>&1 ||
        { apt-get update -qq >>"$STATE/apt.log" 2>&1 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1; } ||
        fail "apt-get install ${missing[*]} failed (see $STATE/apt.log)"
}

write_conf() {
    local host node
    host=$(hostname -s)
    # slurmd -C reports this host's CPUs, sockets, cores and memory as a NodeName line.
    node=$(slurmd -C | head -n 1)
    [[ $node == NodeName=* ]] || fail "slurmd -C did not describe this host: $node"
    cat >"$CONF" <<EOF
ClusterName=attrunlearn
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# Finished jobs stay visible to squeue this long; the profile's first status check comes after a few seconds.
MinJobAge=600
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_daemon() {  # name, pidfile, command...
    local name=$1 pidfile=$2
    shift 2
    rm -f "$pidfile"
    "$@" || fail "$name did not start (see its log in $STATE)"
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.2; done
    [ -s "$pidfile" ] || fail "$name wrote no pid file $pidfile"
    echo "$name $(cat "$pidfile")" >>"$STARTED"
}

start() {
    [ -s "$STARTED" ] && fail "already started (pids in $STARTED); run '$0 stop' first"
    if [ -e "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" != "$CONF" ]; then
        fail "$SYSTEM_CONF exists: this machine has its own Slurm; use that one"
    fi
    mkdir -p "$STATE"/{munge,slurmctld,slurmd}
    install_missing
    write_conf
    mkdir -p "$(dirname "$SYSTEM_CONF")" && ln -sfn "$CONF" "$SYSTEM_CONF"
    [ -s "$STATE/munge/munge.key" ] || dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
    chmod 700 "$STATE/munge" && chmod 400 "$STATE/munge/munge.key"
    : >"$STARTED"
    start_daemon munged "$STATE/munge/munged.pid" munged --force --key-file="$STATE/munge/munge.key" \
        --socket="$STATE/munge/munge.socket" --pid-file="$STATE/munge/munged.pid" \
        --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed"
    export SLURM_CONF=$CONF
    start_daemon slurmctld "$STATE/slurmctld.pid" slurmctld -c -f "$CONF"
    start_daemon slurmd "$STATE/slurmd.pid" slurmd -f "$CONF"
    for _ in $(seq 60); do
        sinfo -h -o %t 2>/dev/null | grep -qx idle && { echo "single-node-slurm: up; export SLURM_CONF=$CONF"; return; }
        sleep 0.5
    done
    sinfo >&2 || true
    fail "the node did not become idle in 30 s (logs in $STATE)"
}

stop() {
    [ -s "$STARTED" ] || { echo "single-node-slurm: nothing started by this script"; return 0; }
    SLURM_CONF=$CONF scancel --full --quiet --user "$(id -un)" 2>/dev/null || true
    # Reverse order: slurmd, slurmctld, then munged, which both need until they exit.
    tac "$STARTED" | while read -r name pid; do
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then echo "single-node-slurm: $name ($pid) still running" >&2; fi
    done
    rm -f "$STARTED"
    if [ "$(readlink "$SYSTEM_CONF")" = "$CONF" ]; then rm -f "$SYSTEM_CONF"; fi
    echo "single-node-slurm: stopped"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    run)
        shift
        [ "${1:-}" = "--" ] && shift
        [ $# -gt 0 ] || fail "run needs a command: $0 run -- CMD..."
        trap stop EXIT
        start
        SLURM_CONF=$CONF "$@"
        ;;
    *) fail "usage: $0 start | stop | run -- CMD..." ;;
esac
