"""Connected systems: connect, change, pause, disconnect, and their health."""
