"""sfsync: pull Salesforce Leads, decide locally, write the outcome back."""

__version__ = "0.1.0"
