"""The schema model, the replay of a chain into it, canonical readers and the diff."""
