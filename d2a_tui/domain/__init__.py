"""Pure domain rules: no Textual, no SQL, nothing of ours imported from outside `domain`."""
