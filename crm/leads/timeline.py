"""The lead page: header, details, the log form and the timeline."""
