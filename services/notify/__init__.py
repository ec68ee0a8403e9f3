"""notify: every event reaches the right people, on their channels, at hours they accept, in their language."""
