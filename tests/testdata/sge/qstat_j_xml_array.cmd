# case: qstat -j -xml of a running array
# captured: 2026-11-23T06:49:28Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qstat -j 10 -xml
