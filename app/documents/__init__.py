"""Incoming and outgoing documents, registers and numbering, attachments."""
