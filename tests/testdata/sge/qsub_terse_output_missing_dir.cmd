# case: submit with -o into a directory that does not exist (Eqw)
# captured: 2026-11-23T06:49:24Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qsub -terse -N cap-eqw -o /tmp/hpc-testbed/jobdir/capture/sge/missing/x.o -e /tmp/hpc-testbed/jobdir/capture/sge/missing/x.e -S /bin/bash -b y true
