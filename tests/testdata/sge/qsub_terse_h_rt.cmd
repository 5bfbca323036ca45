# case: submit with -l h_rt=0:0:5 (killed after 5 s)
# captured: 2026-11-23T06:49:15Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qsub -terse -N cap-hrt -l h_rt=0:0:5 -o /tmp/hpc-testbed/jobdir/capture/sge -e /tmp/hpc-testbed/jobdir/capture/sge -S /bin/bash /tmp/hpc-testbed/jobdir/capture/sge/sleep.sh
