"""attrunlearn: a benchmark suite for attribute unlearning in image classifiers."""
