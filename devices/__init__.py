"""Device adapters: receipt printers, card readers, QR output and their simulators."""
