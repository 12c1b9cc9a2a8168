"""The `/deepnote` command language: parsing typed text into commands, and their docs."""
