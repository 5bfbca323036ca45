# case: sbatch excluding the partition's only node (vm)
# captured: 2026-11-24T02:08:03Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 1
# stderr: sbatch_exclude_only_node.err
sbatch --parsable --exclude=vm --wrap true
