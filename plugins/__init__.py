"""Built-in service plugins; each registers through the ``kiosk.plugins`` entry-point group."""
