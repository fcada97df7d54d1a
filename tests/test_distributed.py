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


def _readme_spark_recipe() -> str:
    """The README's Spark recipe, exactly as printed there (the block using mapInPandas)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    [recipe] = [block for block in blocks if "mapInPandas" in block]
    return recipe


def test_readme_spark_recipe_matches_single_process(scorer, monkeypatch):
    """Runs the README's recipe on a local Spark session, so it cannot rot (needs pyspark
    and a Java runtime; skipped without them)."""
    import shutil
    import sys

    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # workers need overclaim installed
    frame = pd.DataFrame({"id": range(len(EXAMPLES)), "copy": [t for t, _ in EXAMPLES]})
    spark = (pyspark_sql.SparkSession.builder.master("local[2]").appName("overclaim-test")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        namespace = {"spark_df": spark.createDataFrame(frame)}
        exec(_readme_spark_recipe(), namespace)
        result = namespace["scored"].toPandas().sort_values("id").reset_index(drop=True)
    finally:
        spark.stop()
    expected = scorer.score_frame(frame, "copy")
    assert result["overclaim_score"].tolist() == pytest.approx(expected["overclaim_score"].tolist())
    assert result["overclaim_flagged"].tolist() == expected["overclaim_flagged"].tolist()
    assert result["overclaim_categories"].tolist() == [
        ",".join(c) for c in expected["overclaim_categories"]]
