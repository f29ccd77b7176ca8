"""One module per ``pomar`` command: parse, call one library function, render."""
