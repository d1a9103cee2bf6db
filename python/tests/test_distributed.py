"""A real Dask cluster (scheduler and two worker processes on loopback) runs a sweep's
shards; the merged tables equal a local sweep byte for byte."""

import pytest

import datadao

distributed = pytest.importorskip("distributed")


def test_a_dask_local_cluster_gives_the_local_tables():
    grid = {"market.fee_rate": [0.001, 0.003, 0.01], "simulation.entry_steps": [3, 5]}
    local = datadao.sweep(grid, runs=3, steps=40, preset="scarce-data")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        shipped = datadao.sweep(
            grid, runs=3, steps=40, preset="scarce-data", executor=client.get_executor()
        )
    assert shipped.runs_csv == local.runs_csv
    assert shipped.series_csv == local.series_csv
    assert len(shipped.runs) == 6 * 3
