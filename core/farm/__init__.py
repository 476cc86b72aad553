"""Farm takes: reserving a take for chunked tasks, completing it, the Open Job Description template."""
