# case: scontrol show job -o: ok
# captured: 2026-11-23T06:50:51Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
scontrol show job -o 7
