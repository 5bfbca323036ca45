# case: submit into a queue that does not exist
# captured: 2026-11-23T06:49:44Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: qsub_bad_queue.err
qsub -terse -N cap-badq -q nope.q -o /tmp/hpc-testbed/jobdir/capture/sge -e /tmp/hpc-testbed/jobdir/capture/sge -S /bin/bash -b y true
