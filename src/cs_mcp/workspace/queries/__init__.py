"""SQL of the workspace, one module per family of questions: functions taking the workspace, returning records."""
