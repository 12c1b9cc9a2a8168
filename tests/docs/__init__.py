"""README, `/deepnote help`, the manifest and the settings agree with the code."""
