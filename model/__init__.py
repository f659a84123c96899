"""SegGUI's engine, in parts: ``storage`` (images, masks and projects on disk), ``networks``,
``training``, ``prediction``, ``labels`` (label formats), ``compute`` (devices, threads,
processes, memory) and ``cli``; ``classes`` and ``errors`` are shared by all. Never imports Qt."""
