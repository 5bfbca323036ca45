# case: submit with -hold_jid on a running job (hqw)
# captured: 2026-11-23T06:49:23Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qsub -terse -N cap-holdjid -hold_jid 7 -o /tmp/hpc-testbed/jobdir/capture/sge -e /tmp/hpc-testbed/jobdir/capture/sge -S /bin/bash -b y true
