# case: submit: -terse prints the job id
# captured: 2026-11-23T06:49:14Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qsub -terse -N cap-ok -o /tmp/hpc-testbed/jobdir/capture/sge -e /tmp/hpc-testbed/jobdir/capture/sge -S /bin/bash -b y echo hello
