"""A small local host that serves `function_app.app` the way `func start` does."""
