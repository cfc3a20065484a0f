"""Speed and memory measurements; results are committed beside the scripts."""
