# case: scontrol show job of a running array
# captured: 2026-11-23T06:50:35Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
scontrol show job -o 17
