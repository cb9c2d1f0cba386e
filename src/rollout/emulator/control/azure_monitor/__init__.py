"""Azure Monitor on the emulator: the metrics route (`route`), its queries answered from the request
history (`query`), and the metrics Azure publishes for online endpoints (`definitions`)."""
