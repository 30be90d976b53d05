"""Local-only tooling: the Functions host stand-in, Azurite and the Graph emulator.

Nothing in function_app.py, functions/ or shared/ may import from here.
"""
