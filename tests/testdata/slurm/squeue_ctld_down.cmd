# case: squeue while slurmctld is down
# captured: 2026-11-23T06:51:05Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: squeue_ctld_down.err
squeue --noheader --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k'
