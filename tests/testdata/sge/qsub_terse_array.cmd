# case: submit an array -t 1-5 -tc 2 (prints id.first-last:step)
# captured: 2026-11-23T06:49:24Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qsub -terse -N cap-array -t 1-5 -tc 2 -o /tmp/hpc-testbed/jobdir/capture/sge -e /tmp/hpc-testbed/jobdir/capture/sge -S /bin/bash /tmp/hpc-testbed/jobdir/capture/sge/array.sh
