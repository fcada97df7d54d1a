"""Scale-out on a local Dask cluster gives exactly the single-process results."""

from __future__ import annotations

import pandas as pd
import pytest

from .test_scorer import EXAMPLES

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def test_dask_matches_single_process(scorer):
    from overclaim.adapters.distributed import RESULT_COLUMNS, score_dask

    frame = pd.DataFrame({"id": range(len(EXAMPLES) * 2),
                          "copy": [t for t, _ in EXAMPLES] * 2})
    expected = scorer.score_frame(frame, "copy")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        result = score_dask(dd.from_pandas(frame, npartitions=4), "copy", scorer).compute()
    result = result.sort_values("id").reset_index(drop=True)
    columns = ["id", *RESULT_COLUMNS]
    pd.testing.assert_frame_equal(result[columns], expected[columns].reset_index(drop=True))
    assert result["copy"].tolist() == expected["copy"].tolist()  # dask may use another string dtype


def test_empty_partition_keeps_schema(scorer):
    from overclaim.adapters.distributed import RESULT_COLUMNS, score_partition

    out = score_partition(pd.DataFrame({"copy": pd.Series(dtype=str)}), "copy", scorer)
    assert list(out.columns) == ["copy", *RESULT_COLUMNS]
