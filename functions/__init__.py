"""Thin Azure Functions blueprints: parse, call one shared/ operation, map the result."""
