# case: scontrol ping while slurmctld is down
# captured: 2026-11-23T06:51:14Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: (empty)
scontrol ping
