"""Model: the features, the estimators that are trained, the compiled form that scores, and
the artefact on disk (card + hash-named files) that ties them together."""
