# case: sbatch excluding a node the cluster does not have
# captured: 2026-11-24T02:08:03Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 1
# stderr: sbatch_exclude_unknown_node.err
sbatch --parsable --exclude=gone01 --wrap true
