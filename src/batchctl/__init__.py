"""batchctl: declarative AWS Batch jobs. Imports nothing, so `--help` stays fast."""

__version__ = "0.1.0"
