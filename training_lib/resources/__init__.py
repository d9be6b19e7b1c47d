"""Resources: probe the real machine, plan each model's share, apply the plan."""
