"""Training: the labelled corpus and its tools, evaluation on held-out documents, training
and saving the shipped model, and growing the corpus."""
