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


def test_an_optimisation_on_dask_repeats_the_one_on_local_threads():
    pytest.importorskip("optuna")
    from concurrent.futures import ThreadPoolExecutor

    args = dict(
        space={"market.fee_rate": (0.001, 0.03), "minting.mint_per_weight": (0.25, 1.0)},
        maximize="final_price_p50",
        trials=6,
        runs=2,
        steps=40,
        preset="scarce-data",
        seed=11,
        n_jobs=2,
    )
    with ThreadPoolExecutor(2) as pool:
        local = datadao.optimize(executor=pool, **args)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        shipped = datadao.optimize(executor=client.get_executor(), **args)
    assert shipped.trials.equals(local.trials)
    assert shipped.best_params == local.best_params
