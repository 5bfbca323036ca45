# case: qstat -j -xml of an Eqw job (error reason)
# captured: 2026-11-23T06:49:28Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qstat -j 9 -xml
