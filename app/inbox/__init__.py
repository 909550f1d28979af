"""Each person's task list, claiming, and completing a task through its form."""
