#!/usr/bin/env bash
# Stop the test SLURM started by tests/slurm/start.sh, by its PID files.
DIR=${SLURM_TEST_DIR:-/tmp/synthpt-slurm}
for daemon in slurmd slurmctld munged; do
  pidfile="$DIR/$daemon.pid"
  [ "$daemon" = munged ] && pidfile=/run/munge/munged.pid
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
done
