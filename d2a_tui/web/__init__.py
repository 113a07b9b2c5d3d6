"""The board in a browser (`d2a web`): the server that runs a `d2a board` per tab."""
