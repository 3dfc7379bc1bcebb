"""The web-form endpoint: intake.yaml's model, post parsing, spam checks, the HTTP server.

Data flows one way: a post is checked and mapped here (`forms`, `app`),
queued in the store (`store.intake`) before the answer, and turned into a
lead later by `jobs.intake.process_submissions`, which calls capture.
"""
