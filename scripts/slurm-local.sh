#!/usr/bin/env bash
# A real single-node Slurm on localhost, for the tests and for trying the SLURM launcher
# on a laptop. Debian/Ubuntu, as root (slurmd needs it). The settings were measured with
# Slurm 22.05 on Debian 12 (2 cores, no systemd): cred_expire=5 and the short scheduler
# intervals let a requeued job restart in 6-7 s instead of 120 s, and EnforcePartLimits=ALL
# rejects an impossible request at sbatch instead of leaving it pending forever.
#
#   scripts/slurm-local.sh install        apt-get the daemons (slurmctld slurmd slurm-client munge)
#   scripts/slurm-local.sh up BASE [NODES]
#                                         start munged (if not running), slurmctld and NODES
#                                         slurmd (default 1); config in BASE
#   scripts/slurm-local.sh down BASE      stop exactly what `up BASE` started
#
# After `up`, export SLURM_CONF=BASE/slurm.conf (printed) so sbatch/squeue/submitit find it.
#
# NODES > 1 emulates a cluster on this one host: nodes n1..nN, each its own slurmd (`-N`)
# on its own port, all at 127.0.0.1, each claiming all of this machine's cores. It needs a
# Slurm built with --enable-multiple-slurmd (Debian's is); `up` checks `scontrol show
# config` for MULTIPLE_SLURMD and exits 5, saying so, where it is missing. The node names
# must resolve, since a job's master address is its first node's name: `up` adds
# "127.0.0.1 n1 ... nN" to /etc/hosts (marked, and removed by `down`) if they do not.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

cmd=${1:-}
base=${2:-}
nodes=${3:-1}
HOSTS_MARK="# ssl-bench slurm-local"

need_base() {
  [ -n "$base" ] || { echo "usage: $0 $cmd BASE" >&2; exit 2; }
  mkdir -p "$base"
  base=$(cd "$base" && pwd)
}

free_ports() {  # the first of $1 consecutive free ports
  python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
for p in range(20000, 60000, n):
    ok = True
    for q in range(p, p + n):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(p)
        break
PY
}

# Run "$@" until it succeeds, for at most $WAIT_S seconds (a clock, not a count: a failing
# command can itself take seconds).
WAIT_S=${WAIT_S:-120}
retry() { local end=$((SECONDS + WAIT_S)); until "$@"; do ((SECONDS < end)) || return 1; sleep 0.1; done; }

# A stopped daemon can linger as a zombie until PID 1 reaps it; treat state Z as dead.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null || true); [ -n "$st" ] && [[ "$st" != Z* ]]; }

stop_pid_file() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case "$cmd" in
  install)
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
       && command -v munged >/dev/null; then
      echo "slurm already installed"; exit 0
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null
    echo "installed: $(slurmctld -V)"
    ;;
  up)
    need_base
    for b in slurmctld slurmd sbatch squeue scontrol sinfo munged; do
      command -v "$b" >/dev/null || { echo "missing $b: run '$0 install' first" >&2; exit 3; }
    done
    [[ "$nodes" =~ ^[1-9][0-9]?$ ]] || { echo "NODES $nodes: expected 1 to 99" >&2; exit 2; }
    mkdir -p "$base"/{state,spool,log}
    port=$(free_ports $((nodes + 1)))
    cpus=$(nproc --all)  # not plain nproc, which OMP_NUM_THREADS lowers
    ((cpus >= 2)) || cpus=2  # SlurmdParameters=config_overrides trusts it: two tasks fit a node
    mem=$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)
    if [ "$nodes" = 1 ]; then
      node_line="NodeName=localhost NodeAddr=127.0.0.1"
      spool=$base/spool pidfile=$base/slurmd.pid logfile=$base/log/slurmd.log
    else
      node_line="NodeName=n[1-$nodes] NodeHostName=localhost NodeAddr=127.0.0.1 Port=[$((port + 1))-$((port + nodes))]"
      mem=$((mem / nodes))
      spool=$base/spool/%n pidfile=$base/slurmd-%n.pid logfile=$base/log/slurmd-%n.log
    fi
    cat >"$base/slurm.conf" <<EOF
ClusterName=sslbench
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=5
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$base/state
SlurmdSpoolDir=$spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$pidfile
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$logfile
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$base/log/jobcomp.txt
ReturnToService=2
KillWait=5
MinJobAge=300
EnforcePartLimits=ALL
$node_line CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    if ! munge -n >/dev/null 2>&1; then  # no live munged (pgrep would count a zombie)
      install -d -o munge -g munge -m 0755 /run/munge
      runuser -u munge -- /usr/sbin/munged </dev/null
      retry munge -n >/dev/null 2>&1 || { echo "munged did not start" >&2; exit 4; }
      cp /run/munge/munged.pid "$base/munged.pid"  # ours to stop
    fi
    /usr/sbin/slurmctld -f "$base/slurm.conf" </dev/null
    export SLURM_CONF="$base/slurm.conf"
    if [ "$nodes" = 1 ]; then
      /usr/sbin/slurmd -f "$base/slurm.conf" </dev/null
    else
      retry scontrol ping >/dev/null 2>&1 || { echo "slurmctld did not come up; logs in $base/log" >&2; exit 4; }
      conf=$(scontrol show config 2>/dev/null || true)  # not piped into grep -q: pipefail + SIGPIPE
      if ! grep -Eq '^MULTIPLE_SLURMD +=.*Yes' <<<"$conf"; then
        "$0" down "$base" >/dev/null 2>&1 || true
        echo "this Slurm is built without multiple-slurmd support (scontrol show config has no" \
          "MULTIPLE_SLURMD = Yes): it cannot emulate $nodes nodes on one host" >&2
        exit 5
      fi
      names=$(seq -f 'n%g' 1 "$nodes" | tr '\n' ' ')
      if ! getent hosts n1 >/dev/null; then
        [ -z "$(tail -c1 /etc/hosts)" ] || echo >>/etc/hosts
        echo "127.0.0.1 $names$HOSTS_MARK $base" >>/etc/hosts
      fi
      for n in $names; do
        mkdir -p "$base/spool/$n"
        /usr/sbin/slurmd -f "$base/slurm.conf" -N "$n" </dev/null
      done
    fi
    all_idle() { [ "$(sinfo -h -o %T 2>/dev/null | sort -u)" = idle ]; }
    retry all_idle || { echo "slurm did not come up; logs in $base/log" >&2; exit 4; }
    echo "SLURM_CONF=$base/slurm.conf"
    ;;
  down)
    need_base
    if [ -f "$base/slurm.conf" ]; then
      export SLURM_CONF="$base/slurm.conf"
      scancel --user="$(id -un)" 2>/dev/null || true
    fi
    stop_pid_file "$base/slurmd.pid"
    for f in "$base"/slurmd-*.pid; do stop_pid_file "$f"; done
    stop_pid_file "$base/slurmctld.pid"
    if grep -qF "$HOSTS_MARK $base" /etc/hosts 2>/dev/null; then
      grep -vF "$HOSTS_MARK $base" /etc/hosts >/etc/hosts.ssl-bench && cat /etc/hosts.ssl-bench >/etc/hosts
      rm -f /etc/hosts.ssl-bench
    fi
    stop_pid_file "$base/munged.pid"
    ;;
  *)
    echo "usage: $0 install | up BASE [NODES] | down BASE" >&2
    exit 2
    ;;
esac
