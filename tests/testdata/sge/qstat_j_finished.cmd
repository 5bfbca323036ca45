# case: qstat -j of a finished job
# captured: 2026-11-23T06:49:42Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: qstat_j_finished.err
qstat -j 3
