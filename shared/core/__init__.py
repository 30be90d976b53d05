"""The pure core: planners, event mapping, change types, typed settings, validation, the
error tree, time zones and a clock. Nothing here imports azure, msgraph, kiota or the other
layers, and nothing does I/O (tests/unit/test_layers.py checks the imports)."""
