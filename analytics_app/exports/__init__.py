"""Export writers: event rows in, CSV or Excel bytes out."""
