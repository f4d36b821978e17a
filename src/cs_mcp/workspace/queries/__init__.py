"""The workspace's queries, one module per family: functions taking the workspace, returning records."""
