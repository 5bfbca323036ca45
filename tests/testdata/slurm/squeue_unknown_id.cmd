# case: squeue -j of an id the controller never had
# captured: 2026-11-23T06:50:53Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: squeue_unknown_id.err
squeue --noheader --format='%A|%i|%T|%r|%P|%S|%e|%l|%N|%k' -j 999999
