#!/usr/bin/env bash
# A real single-node Slurm on localhost, for the tests and for trying the SLURM launcher
# on a laptop. Debian/Ubuntu, as root (slurmd needs it). Facts behind the settings:
# shared/notes/slurm-single-node.md (measured on this project's machine kind).
#
#   scripts/slurm-local.sh install        apt-get the daemons (slurmctld slurmd slurm-client munge)
#   scripts/slurm-local.sh up BASE        start munged (if not running), slurmctld, slurmd; config in BASE
#   scripts/slurm-local.sh down BASE      stop exactly what `up BASE` started
#
# After `up`, export SLURM_CONF=BASE/slurm.conf (printed) so sbatch/squeue/submitit find it.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

cmd=${1:-}
base=${2:-}

need_base() {
  [ -n "$base" ] || { echo "usage: $0 $cmd BASE" >&2; exit 2; }
  mkdir -p "$base"
  base=$(cd "$base" && pwd)
}

free_port_pair() {
  python3 - <<'PY'
import socket
for p in range(20000, 60000, 2):
    ok = True
    for q in (p, p + 1):
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
    mkdir -p "$base"/{state,spool,log}
    port=$(free_port_pair)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)
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
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
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
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    if ! pgrep -x munged >/dev/null; then
      install -d -o munge -g munge -m 0755 /run/munge
      runuser -u munge -- /usr/sbin/munged </dev/null
      for _ in $(seq 600); do [ -f /run/munge/munged.pid ] && break; sleep 0.1; done
      cp /run/munge/munged.pid "$base/munged.pid"  # ours to stop
    fi
    /usr/sbin/slurmctld -f "$base/slurm.conf" </dev/null
    /usr/sbin/slurmd -f "$base/slurm.conf" </dev/null
    export SLURM_CONF="$base/slurm.conf"
    for _ in $(seq 1200); do  # up to 2 min: a slow CPU starts the daemons slowly
      [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
      sleep 0.1
    done
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || { echo "slurm did not come up; logs in $base/log" >&2; exit 4; }
    echo "SLURM_CONF=$base/slurm.conf"
    ;;
  down)
    need_base
    if [ -f "$base/slurm.conf" ]; then
      export SLURM_CONF="$base/slurm.conf"
      scancel --user="$(id -un)" 2>/dev/null || true
    fi
    stop_pid_file "$base/slurmd.pid"
    stop_pid_file "$base/slurmctld.pid"
    stop_pid_file "$base/munged.pid"
    ;;
  *)
    echo "usage: $0 install | up BASE | down BASE" >&2
    exit 2
    ;;
esac
