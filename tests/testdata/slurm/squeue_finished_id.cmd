# case: squeue -j of a finished job still held (empty)
# captured: 2026-11-23T06:50:53Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
squeue --noheader --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k' -j 7
