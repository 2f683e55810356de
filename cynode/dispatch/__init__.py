"""Job dispatch: the sandboxed runner that executes one job process and reports what happened."""
