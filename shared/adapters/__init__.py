"""Adapters at the edge: the table store and every table record, the queues and every
queue message, the Graph gateway (the only code that reads Graph's errors), credentials,
settings from the environment, logging, and the webhook HTTP client."""
