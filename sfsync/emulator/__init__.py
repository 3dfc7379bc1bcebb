"""A local Salesforce org emulator: HTTPS, seeded data, org semantics and fault injection."""
