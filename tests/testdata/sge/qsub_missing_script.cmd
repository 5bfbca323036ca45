# case: submit a script that does not exist
# captured: 2026-11-23T06:49:44Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 14
# stderr: qsub_missing_script.err
qsub -terse -N cap-noscript -o /tmp/hpc-testbed/jobdir/capture/sge -e /tmp/hpc-testbed/jobdir/capture/sge -S /bin/bash /tmp/hpc-testbed/jobdir/capture/sge/does-not-exist.sh
