"""One file per schema revision; an upgrade never loses history."""
