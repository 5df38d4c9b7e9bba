"""The build directory: its layout, build.json and the lock, atomic I/O, tables, typed records."""
