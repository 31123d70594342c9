#!/usr/bin/env bash
# A throwaway one-node Slurm cluster on this machine (munged + slurmctld + slurmd), with two fake
# GPUs as GRES, for portholed's Slurm tests and benchmark. Why the settings are what they are:
# docs/ARCHITECTURE.md, "The test cluster".
#
#   tests/slurm/cluster.sh start ROOT   writes ROOT/etc/slurm.conf, starts the daemons, waits for
#                                       the node to be idle, prints `export SLURM_CONF=…`
#   tests/slurm/cluster.sh stop ROOT    cancels every job, stops the daemons by their recorded
#                                       PIDs (never by name), leaves ROOT for the logs
#   tests/slurm/cluster.sh restart-ctld ROOT   stops and starts slurmctld only (state is kept)
#
# Partitions: `cpu` (default, no time limit) and `gpu` (2 fake GPUs, MaxTime 10, DefaultTime 5).
# Needs root (slurmd runs jobs as their user) and Debian's slurm-wlm and munge.
set -euo pipefail
what=${1:?usage: cluster.sh start|stop|restart-ctld ROOT}
R=${2:?usage: cluster.sh start|stop|restart-ctld ROOT}
mkdir -p "$R"
R=$(cd "$R" && pwd)
export SLURM_CONF=$R/etc/slurm.conf

die() { echo "slurm cluster: $*" >&2; exit 1; }
# Whether the recorded PID still runs (a zombie reparented to PID 1 counts as gone).
alive() { local pid; pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; }
stop_pid() { # pidfile: TERM, KILL after 10 s
  alive "$1" || return 0
  local pid; pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do alive "$1" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
wait_until() { # what, seconds, command…
  local what=$1 limit=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "timed out after ${limit}s waiting for $what (logs in $R/log)"
}
node_idle() { [ "$(sinfo -h -N -o %t 2>/dev/null | head -1)" = idle ]; }
# Up and answering the controller (a restarted slurmctld sees it as unk, or with a *, until
# slurmd registers again).
node_up() { case "$(sinfo -h -N -o %t 2>/dev/null | head -1)" in idle|mix|alloc) return 0 ;; *) return 1 ;; esac; }

start_ctld() {
  setsid slurmctld -D -i -f "$SLURM_CONF" >>"$R/log/slurmctld.out" 2>&1 < /dev/null &
  echo $! >"$R/run/slurmctld.daemon"
  wait_until slurmctld 30 scontrol ping
}

case $what in
start)
  [ "$(id -u)" -eq 0 ] || die "needs root"
  command -v slurmctld >/dev/null && command -v munged >/dev/null || die "install slurm-wlm and munge"
  mkdir -p "$R"/{etc,state,spool/slurmd,run,log,dev,munge/run}
  # munged refuses a socket folder that is not world-searchable, up to the root.
  chmod 0755 "$R" "$R/munge" "$R/munge/run"
  d=$(dirname "$R")
  while [ "$d" != / ]; do
    [ $(( 0$(stat -c %a "$d") & 1 )) -eq 1 ] || die "$d is not searchable by others: munged would refuse its socket (use a folder like mktemp -d makes, under /tmp)"
    d=$(dirname "$d")
  done
  if [ ! -f "$R/munge/munge.key" ]; then
    mkdir -p "$R/munge/key" && chmod 0700 "$R/munge/key"
    head -c 1024 /dev/urandom >"$R/munge/key/munge.key" && chmod 0400 "$R/munge/key/munge.key"
  fi
  ln -sf /dev/null "$R/dev/nvidia0"; ln -sf /dev/null "$R/dev/nvidia1"
  : >"$R/etc/plugstack.conf"
  echo "Name=gpu Type=fake File=$R/dev/nvidia[0-1]" >"$R/etc/gres.conf"
  cat >"$SLURM_CONF" <<CONF
ClusterName=porthole-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$R/munge/run/munge.socket.2
StateSaveLocation=$R/state
SlurmdSpoolDir=$R/spool/slurmd
SlurmctldPidFile=$R/run/slurmctld.pid
SlurmdPidFile=$R/run/slurmd-%n.pid
SlurmctldLogFile=$R/log/slurmctld.log
SlurmdLogFile=$R/log/slurmd-%n.log
PlugStackConfig=$R/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$R/log/jobcomp.txt
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=300
KillWait=5
OverTimeLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 Gres=gpu:fake:2 State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost Default=NO MaxTime=10 DefaultTime=5 State=UP
CONF
  if ! alive "$R/run/munged.pid"; then
    munged -F --key-file="$R/munge/key/munge.key" --socket="$R/munge/run/munge.socket.2" \
      --pid-file="$R/run/munged.pid.file" --log-file="$R/log/munged.log" \
      --seed-file="$R/munge/seed" >>"$R/log/munged.out" 2>&1 < /dev/null &
    echo $! >"$R/run/munged.pid"
    wait_until munged 10 test -S "$R/munge/run/munge.socket.2"
  fi
  alive "$R/run/slurmctld.daemon" || start_ctld
  if ! alive "$R/run/slurmd.daemon"; then
    setsid slurmd -D -f "$SLURM_CONF" >>"$R/log/slurmd.out" 2>&1 < /dev/null &
    echo $! >"$R/run/slurmd.daemon"
  fi
  wait_until "the node to be idle" 60 node_idle
  echo "export SLURM_CONF=$SLURM_CONF"
  ;;
restart-ctld)
  stop_pid "$R/run/slurmctld.daemon"
  start_ctld
  wait_until "the node to answer the restarted controller" 60 node_up
  ;;
stop)
  if alive "$R/run/slurmctld.daemon"; then
    squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
    for _ in $(seq 1 150); do
      [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  stop_pid "$R/run/slurmd.daemon"
  stop_pid "$R/run/slurmctld.daemon"
  stop_pid "$R/run/munged.pid"
  ;;
*) die "unknown command $what" ;;
esac
