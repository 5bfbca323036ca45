# case: qacct: h_vmem=100M, 300 MB allocation
# captured: 2026-11-23T06:49:41Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
qacct -j 5
