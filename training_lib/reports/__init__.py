"""Reports drawn from what a run recorded: plots, JSON, HTML."""
