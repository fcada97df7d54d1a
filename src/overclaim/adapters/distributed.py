"""Scale-out on an engine you already run: Dask (shown here) and Spark (README).

Nothing here distributes work by itself: Dask's ``map_partitions`` does. The scorer is
wrapped in ``dask.delayed`` once, so the graph carries one copy of the model that each
worker deserialises once, instead of a copy per partition.

    import dask.dataframe as dd
    from overclaim.adapters.distributed import score_dask
    scored = score_dask(dd.read_parquet("ads.parquet"), "copy").compute()
"""

from __future__ import annotations

import pandas as pd

from overclaim.scoring.scorer import Scorer

#: Result columns added to every partition (also the ``meta`` Dask needs up front).
RESULT_COLUMNS = {"overclaim_score": "float64", "overclaim_flagged": "object",
                  "overclaim_categories": "object", "overclaim_passages": "object",
                  "overclaim_error": "object"}


def score_partition(partition: pd.DataFrame, column: str, scorer: Scorer) -> pd.DataFrame:
    """Score one pandas partition: the same call as single-process ``score_frame``."""
    if partition.empty:
        return partition.assign(**{c: pd.Series(dtype=t) for c, t in RESULT_COLUMNS.items()})
    return scorer.score_frame(partition, column)


def score_dask(frame, column: str, scorer: Scorer | None = None):
    """Score a text column of a Dask DataFrame; lazy, like every Dask operation."""
    try:
        import dask
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("scale-out needs the 'dask' extra: pip install 'overclaim[dask]'") from error
    shared = dask.delayed(scorer or Scorer.load(), pure=True)
    meta = frame._meta.assign(**{c: pd.Series(dtype=t) for c, t in RESULT_COLUMNS.items()})
    return frame.map_partitions(score_partition, column, shared, meta=meta)
