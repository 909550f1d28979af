"""The instance timeline for auditors, and verification of every instance's hash chain."""
