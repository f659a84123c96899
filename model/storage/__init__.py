"""Images, masks and projects on disk: every image kind read, atomic writes, the folder lock,
the stroke journal and crash recovery."""
